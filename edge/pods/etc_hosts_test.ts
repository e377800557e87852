import assert from "node:assert/strict";
import { join } from "node:path";
import { buildContainerConfig } from "./container_config.ts";
import { hostNetworkHostsContent, managedHostsContent, writeEtcHosts } from "./etc_hosts.ts";
import { parsePod } from "./pod_schema.ts";

const pod = (spec: Record<string, unknown> = {}, name = "web-0") =>
  parsePod({
    metadata: { name, namespace: "shop", uid: "u1" },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  });

Deno.test("a pod-network pod's /etc/hosts names localhost, its own IP and hostname, and its hostAliases", () => {
  const text = managedHostsContent(
    pod({ hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }] }),
    ["10.88.0.7"],
  );
  assert.equal(
    text,
    "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
      "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
      "10.88.0.7\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n",
  );
  assert.match(
    managedHostsContent(pod({ hostname: "db", subdomain: "svc1" }), ["10.88.0.8"]),
    /\n10\.88\.0\.8\tdb\.svc1\.shop\.svc\.cluster\.local\tdb\n$/,
  );
});

Deno.test("a host-network pod gets the node's /etc/hosts under the kubelet's header, plus its aliases", () => {
  assert.equal(
    hostNetworkHostsContent(pod({ hostAliases: [{ ip: "1.2.3.4", hostnames: ["x"] }] }), "127.0.0.1 box\n"),
    "# Kubernetes-managed hosts file (host network).\n127.0.0.1 box\n\n# Entries added by HostAliases.\n1.2.3.4\tx\n",
  );
});

Deno.test("the hosts file is written once a pod has an IP and mounted unless the container mounts /etc/hosts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = { pod: pod(), uid: "u1", namespace: "shop", nodeName: "n", hostIP: "192.0.2.1", podIP: "" };
    assert.equal(await writeEtcHosts(dir, ctx), undefined, "no pod IP yet: nothing to mount");
    const path = await writeEtcHosts(dir, { ...ctx, podIP: "10.88.0.7" });
    assert.equal(path, join(dir, "etc-hosts"));
    assert.match(await Deno.readTextFile(path!), /\n10\.88\.0\.7\tweb-0\n/);
    const config = (spec: Record<string, unknown>) =>
      buildContainerConfig({
        ctx: { ...ctx, podIP: "10.88.0.7" },
        spec: parsePod({ metadata: { name: "p" }, spec: { containers: [spec] } }).spec.containers[0]!,
        type: "regular",
        attempt: 0,
        restartCount: 0,
        volumes: new Map([["own", "/tmp/own-hosts"]]),
        objects: { get: () => undefined } as never,
        gracePeriodSeconds: 30,
        etcHosts: path,
      });
    const plain = await config({ name: "c", image: "busybox" });
    assert.deepEqual(plain.mounts?.filter((m) => m.containerPath === "/etc/hosts").map((m) => m.hostPath), [
      path,
    ]);
    const own = await config({
      name: "c",
      image: "busybox",
      volumeMounts: [{ name: "own", mountPath: "/etc/hosts" }],
    });
    assert.deepEqual(
      own.mounts?.filter((m) => m.containerPath === "/etc/hosts").map((m) => m.hostPath),
      ["/tmp/own-hosts"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
