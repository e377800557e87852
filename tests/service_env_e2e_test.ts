// Service environment variables (enableServiceLinks) end to end, through cloudcore, edgecore and a real
// containerd: a container starts with the kubelet's FOO_SERVICE_HOST, FOO_SERVICE_PORT, named ports and
// Docker link variables of the Services of its namespace and of default/kubernetes; enableServiceLinks: false
// leaves only the kubernetes ones; the container's own env wins and $(VAR) sees them; with the cloud away a
// restarted container still gets them from the edge's store. The edge asks with KubeEdge's MetaServer
// Application (lib/protocol/application.ts), which cloudcore answers from the apiserver.
import assert from "node:assert/strict";
import { createCriClient } from "../edge/cri/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

const NS = "svcenv";
/** Names the kubelet's service variables can have. */
const SERVICE_VAR = /_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT|PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$/;

Deno.test("service environment variables: the pod namespace's Services and default/kubernetes", async (t) => {
  await using env = await startPodEdge("svcenv");
  const { kubectl, rt } = env;
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  try {
    await kubectl(["create", "namespace", NS]);
    await kubectl(["create", "namespace", "elsewhere"]);
    await kubectl(
      ["apply", "-f", "-"],
      [
        `apiVersion: v1
kind: Service
metadata: {name: fooservice-1, namespace: ${NS}}
spec:
  ports:
  - {name: http, port: 8765, targetPort: 8080}
  - {name: metrics-http, port: 9090, protocol: UDP}`,
        `apiVersion: v1
kind: Service
metadata: {name: headless, namespace: ${NS}}
spec: {clusterIP: None, ports: [{port: 80}]}`,
        `apiVersion: v1
kind: Service
metadata: {name: not-mine, namespace: elsewhere}
spec: {ports: [{port: 81}]}`,
        `apiVersion: v1
kind: Service
metadata: {name: web-default, namespace: default}
spec: {ports: [{port: 82}]}`,
      ].join("\n---\n"),
    );
    const clusterIP = async (ns: string, name: string) =>
      (await kubectl(["get", "service", "-n", ns, name, "-o", "jsonpath={.spec.clusterIP}"])).trim();
    const fooIP = await clusterIP(NS, "fooservice-1");
    const masterIP = await waitFor(
      "the kubernetes Service",
      () => clusterIP("default", "kubernetes"),
      60_000,
      500,
    );
    await waitFor(
      `the default ServiceAccount of ${NS}`,
      () => kubectl(["get", "serviceaccount", "-n", NS, "default", "-o", "name"]),
      60_000,
      500,
    );

    const pod = (name: string, links: boolean) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  nodeName: edge-1
  enableServiceLinks: ${links}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: "${rt.images.busybox}"
    command: ["sh", "-c", "echo '$(KUBERNETES_SERVICE_PORT) $(FOOSERVICE_1_SERVICE_PORT)' >/tmp/args; exec sleep 3600"]
    env:
    - {name: FOOSERVICE_1_SERVICE_PORT_METRICS_HTTP, value: mine}
    - {name: SEEN, value: "$(KUBERNETES_SERVICE_HOST):$(FOOSERVICE_1_SERVICE_PORT)"}
`;
    await kubectl(["apply", "-f", "-"], [pod("links", true), pod("no-links", false)].join("---\n"));
    const running = (name: string, restarts = 0) =>
      waitFor(
        `${name} running`,
        async () => {
          const status = JSON.parse(await kubectl(["get", "pod", "-n", NS, name, "-o", "json"])).status;
          const container = status?.containerStatuses?.[0];
          const id = container?.containerID;
          return container?.state?.running && (container.restartCount ?? 0) >= restarts &&
            typeof id === "string" && id.replace("containerd://", "");
        },
        90_000,
        500,
      );
    /** The environment the container's process started with, by name. */
    const environ = async (id: string) => {
      const lines = (await exec(cri, id, "tr '\\0' '\\n' </proc/1/environ")).split("\n").filter(Boolean);
      return new Map(
        lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
    };
    const serviceVars = (vars: Map<string, string>) =>
      Object.fromEntries([...vars].filter(([name]) => SERVICE_VAR.test(name)).sort());

    const master = {
      KUBERNETES_SERVICE_HOST: masterIP,
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: `tcp://${masterIP}:443`,
      KUBERNETES_PORT_443_TCP: `tcp://${masterIP}:443`,
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: masterIP,
    };
    const foo = {
      FOOSERVICE_1_SERVICE_HOST: fooIP,
      FOOSERVICE_1_SERVICE_PORT: "8765",
      FOOSERVICE_1_SERVICE_PORT_HTTP: "8765",
      // The container's own value wins over the Service's 9090.
      FOOSERVICE_1_SERVICE_PORT_METRICS_HTTP: "mine",
      FOOSERVICE_1_PORT: `tcp://${fooIP}:8765`,
      FOOSERVICE_1_PORT_8765_TCP: `tcp://${fooIP}:8765`,
      FOOSERVICE_1_PORT_8765_TCP_PROTO: "tcp",
      FOOSERVICE_1_PORT_8765_TCP_PORT: "8765",
      FOOSERVICE_1_PORT_8765_TCP_ADDR: fooIP,
      FOOSERVICE_1_PORT_9090_UDP: `udp://${fooIP}:9090`,
      FOOSERVICE_1_PORT_9090_UDP_PROTO: "udp",
      FOOSERVICE_1_PORT_9090_UDP_PORT: "9090",
      FOOSERVICE_1_PORT_9090_UDP_ADDR: fooIP,
    };
    const sorted = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort());

    const linksId = await running("links");
    await t.step(
      "the namespace's Services with a cluster IP and default/kubernetes, nothing else",
      async () => {
        const vars = await environ(linksId);
        assert.deepEqual(serviceVars(vars), sorted({ ...master, ...foo }));
      },
    );

    await t.step("$(VAR) in env values, command and args sees the service variables", async () => {
      const vars = await environ(linksId);
      assert.equal(vars.get("SEEN"), `${masterIP}:8765`);
      assert.equal((await exec(cri, linksId, "cat /tmp/args")).trim(), "443 8765");
    });

    await t.step("enableServiceLinks: false leaves only the kubernetes Service's variables", async () => {
      const id = await running("no-links");
      const vars = await environ(id);
      assert.deepEqual(
        serviceVars(vars),
        sorted({ ...master, FOOSERVICE_1_SERVICE_PORT_METRICS_HTTP: "mine" }),
      );
      assert.equal(vars.get("SEEN"), `${masterIP}:$(FOOSERVICE_1_SERVICE_PORT)`);
    });

    await t.step(
      "with the cloud away, a restarted container gets the variables the edge stored",
      async () => {
        await env.cloud.stop();
        await env.edge.waitForLog("disconnected", 30_000).catch(() => {});
        await cri.stopContainer(linksId, 0);
        const restarted = await waitFor(
          "links restarted on the edge",
          async () => {
            const list = await cri.listContainers({ labelSelector: { "io.kubernetes.pod.name": "links" } });
            const fresh = list.find((c) => c.id !== linksId && c.state === "CONTAINER_RUNNING");
            return fresh?.id;
          },
          90_000,
          500,
        );
        assert.deepEqual(serviceVars(await environ(restarted)), sorted({ ...master, ...foo }));
      },
    );
  } finally {
    cri.close();
  }
});
