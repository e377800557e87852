// hostPort end to end on a real edgecore and containerd (CNI bridge + portmap, tests/containerd): two pods ask
// for the same hostPort, one on 127.0.0.1 and one on the node's InternalIP, as the conformance spec `HostPort
// validates that there is no conflict between pods with same hostPort but different hostIP and protocol`
// does; a connection from the node to each address reaches its own pod. The one on the node's address is not
// masqueraded by portmap (127.0.0.1 is), so the pod answers the node's address itself: through its default
// route, which the CNI config must give it.
import assert from "node:assert/strict";
import { freePort } from "./cluster/mod.ts";
import { waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";
import { HOST_IP } from "./harness/stream_edge.ts";

/** The body of GET / on `host:port`, or undefined when nothing answers within 3 s. */
async function body(host: string, port: number): Promise<string | undefined> {
  try {
    const reply = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(3000) });
    return reply.ok ? (await reply.text()).trim() : undefined;
  } catch {
    return undefined;
  }
}

function hostPortPod(name: string, image: string, hostIP: string, port: number): string {
  return `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${image}
    command: ["sh", "-c", "mkdir /www && echo ${name} > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080, hostPort: ${port}, hostIP: "${hostIP}", protocol: TCP}]
`;
}

Deno.test({
  name: "one hostPort on 127.0.0.1 and on the node's address reaches a different pod on each",
  ignore: HOST_IP === undefined,
  fn: async () => {
    await using env = await startPodEdge("hostport");
    const port = freePort();
    // The address the conformance spec takes: the InternalIP the node reports.
    const nodeIp = await waitFor(
      "the node's InternalIP",
      async () =>
        (await env.kubectl([
          "get",
          "node",
          "edge-1",
          "-o",
          `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`,
        ])).trim(),
      30_000,
      500,
    );
    assert.notEqual(nodeIp, "127.0.0.1");
    const image = env.rt.images.busybox;
    await waitFor(
      "pods created",
      async () => {
        await env.kubectl(
          ["apply", "-f", "-"],
          hostPortPod("on-loopback", image, "127.0.0.1", port) + "---" +
            hostPortPod("on-node-ip", image, nodeIp, port),
        );
        return true;
      },
      30_000,
      1000,
    );
    for (const name of ["on-loopback", "on-node-ip"]) {
      await waitFor(
        `${name} Running`,
        async () => (await env.kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase}"])) === "Running",
        90_000,
        500,
      );
    }
    const loopback = await waitFor("127.0.0.1 answers", () => body("127.0.0.1", port), 20_000, 500);
    const onNodeIp = await waitFor(`${nodeIp} answers`, () => body(nodeIp, port), 20_000, 500);
    assert.equal(loopback, "on-loopback");
    assert.equal(onNodeIp, "on-node-ip");
  },
});
