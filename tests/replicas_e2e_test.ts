// Two cloudcore replicas behind one address (Debian's HAProxy in TCP mode), a real edgecore on containerd
// and simulated edges (bench/edge_sim.ts) joined through it. One replica is SIGKILLed: its edges come back
// through the other within their backoff, every Node stays or gets Ready, every edge holds exactly what the
// apiserver says it should, and no pod is written again.
import assert from "node:assert/strict";
import { join } from "node:path";
import { SimEdge } from "../bench/edge_sim.ts";
import { writeSimEdgeCredentials } from "../bench/edge_sim_certs.ts";
import { newCounters } from "../bench/edge_sim_counters.ts";
import type { EdgeCredentials } from "../bench/edge_sim_messages.ts";
import { compareNode, expectedHoldings, problems } from "../bench/soak_consistency.ts";
import { Kube } from "../bench/soak_kube.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { waitFor } from "./containerd/pod_helpers.ts";
import { startBalancer } from "./harness/haproxy.ts";
import { type Cloud, getToken, joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";

const SIM_EDGES = 20;

interface PodJson {
  metadata: { name: string; resourceVersion: string };
  spec: { nodeName?: string };
  status?: { phase?: string; containerStatuses?: Array<{ containerID?: string }> };
}

Deno.test("two cloudcores behind HAProxy: one SIGKILLed, its edges come back through the other with nothing lost or written twice", async (t) => {
  await using cp = await startControlPlane({
    controllers: true,
    extraArgs: { controllerManager: ["--node-monitor-grace-period=20s", "--node-monitor-period=2s"] },
  });
  const kubectl = kubectlFor(cp.kubeconfigPath);
  const kube = new Kube(cp);
  const rt = await startTestRuntime("replicas");
  const run = await createRunDir("replicas");
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  const stops: Array<() => Promise<void>> = [];
  const sims: SimEdge[] = [];
  const counters = newCounters();
  let podIndex = 0;
  try {
    // One after the other: the first creates the CA and server certificate Secrets, the second reads them.
    const a = await startCloud(run, cp, { name: "cloudcore-a" });
    stops.push(() => a.stop());
    const b = await startCloud(run, cp, { name: "cloudcore-b" });
    stops.push(() => b.stop());
    const replicas: Record<string, Cloud> = { a, b };
    const lb = await startBalancer(run, [
      { name: "hub", backends: [a.ports.websocket, b.ports.websocket] },
      { name: "https", backends: [a.ports.https, b.ports.https] },
    ]);
    stops.push(() => lb.stop());
    const through = { ports: { websocket: lb.ports.hub!, https: lb.ports.https! }, token: await getToken(a) };
    const connected = async (cloud: Cloud) =>
      (await metric(cloud.ports.metrics, "kedge_cloudhub_connected_nodes")) ?? 0;
    const nodes = ["edge-real", ...Array.from({ length: SIM_EDGES }, (_, i) => `sim-${i}`)];
    const allReady = async () => {
      const list = JSON.parse(await kubectl(["get", "nodes", "-o", "json"])).items as Array<
        { metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }
      >;
      const ready = list.filter((n) =>
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      );
      return nodes.every((name) => ready.some((n) => n.metadata.name === name));
    };
    const pods = async (): Promise<PodJson[]> =>
      JSON.parse(await kubectl(["get", "pods", "-o", "json"])).items;
    const consistency = async () => {
      const expected = await expectedHoldings(kube, nodes.slice(1));
      return sims.map((sim) => {
        const held = sim.holdings();
        return compareNode(sim.name, expected.get(sim.name)!, { ...held, twins: {} });
      }).filter((r) => problems(r) > 0);
    };

    await t.step(
      "the real edge joins through the balancer, 20 simulated edges dial it, both replicas get some",
      async () => {
        const joined = await joinEdge(run, through, "edge-real", (config) => {
          config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
          config.modules!.edged!.podSandboxImage = rt.images.pause;
        });
        const edge = await startEdge(run, joined);
        stops.push(() => edge.stop());
        const casecret = JSON.parse(
          await kubectl(["get", "secret", "-n", "kubeedge", "casecret", "-o", "json"]),
        );
        const dir = join(run.path, "sims");
        await Deno.mkdir(dir);
        await writeSimEdgeCredentials(casecret.data, nodes.slice(1), dir);
        const caPem = await Deno.readTextFile(join(dir, "ca.pem"));
        const creds: EdgeCredentials[] = JSON.parse(await Deno.readTextFile(join(dir, "edges.json")));
        for (const c of creds) {
          const sim = new SimEdge({
            port: lb.ports.hub!,
            caPem,
            creds: c,
            counters: () => counters,
            nextPodIndex: () => ++podIndex,
          });
          sims.push(sim);
          await sim.start();
        }
        await waitFor(
          "21 sessions over both replicas",
          async () => (await connected(a)) + (await connected(b)) === 21,
          30_000,
          250,
        );
        assert.ok((await connected(a)) > 0 && (await connected(b)) > 0, "the balancer spread the edges");
        await waitFor("every Node Ready", allReady, 60_000, 500);
      },
    );

    const pod = (name: string, node: string, extra = "") => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: ${rt.images.busybox}, command: ["sh", "-c", "exec sleep 3600"]${extra}}
`;
    let realContainer = "";
    let versions = new Map<string, string>();
    await t.step("a pod on every edge Running; each edge holds what the apiserver says", async () => {
      await kubectl(["create", "configmap", "shared", "--from-literal=k=v1"]);
      const manifests = nodes.map((node) =>
        pod(`p-${node}`, node, node === "edge-real" ? "" : ", envFrom: [{configMapRef: {name: shared}}]")
      );
      await kubectl(["apply", "-f", "-"], manifests.join("---\n"));
      await waitFor(
        "21 pods Running",
        async () => {
          const list = await pods();
          return list.length === 21 && list.every((p) => p.status?.phase === "Running");
        },
        90_000,
        500,
      );
      realContainer = (await pods()).find((p) => p.spec.nodeName === "edge-real")!.status!
        .containerStatuses![0]!
        .containerID!;
      await waitFor("edges consistent", async () => (await consistency()).length === 0, 30_000, 500);
      versions = new Map((await pods()).map((p) => [p.metadata.name, p.metadata.resourceVersion]));
    });

    await t.step(
      "the replica holding the real edge is SIGKILLed: every edge is back on the other within 45 s",
      async () => {
        const holder = (await holds(a.logFile, "edge-real")) ? "a" : "b";
        const killed = replicas[holder]!;
        const survivor = replicas[holder === "a" ? "b" : "a"]!;
        const before = await connected(survivor);
        const killedAt = Date.now();
        Deno.kill(killed.pid, "SIGKILL");
        // Changes made while the edges are between replicas.
        await kubectl([
          "create",
          "configmap",
          "shared",
          "--from-literal=k=v2",
          "--dry-run=client",
          "-o",
          "yaml",
        ])
          .then((yaml) => kubectl(["apply", "-f", "-"], yaml));
        await kubectl(["apply", "-f", "-"], pod("after-real", "edge-real"));
        await waitFor(
          "21 sessions on the survivor",
          async () => (await connected(survivor)) === 21,
          45_000,
          250,
        );
        const moved = 21 - before;
        assert.ok(moved > 0, "some edges moved");
        console.log(`replicas: ${moved} edges moved to the survivor in ${Date.now() - killedAt} ms`);
        await waitFor("every Node Ready", allReady, 30_000, 500);
      },
    );

    await t.step(
      "nothing lost: each edge holds exactly what it should, the real edge's container untouched",
      async () => {
        await waitFor(
          "the pod created during the failover Running",
          async () =>
            (await pods()).some((p) => p.metadata.name === "after-real" && p.status?.phase === "Running"),
          60_000,
          500,
        );
        await waitFor(
          "edges consistent",
          async () => {
            const bad = await consistency();
            if (bad.length > 0) console.log(JSON.stringify(bad.slice(0, 2)));
            return bad.length === 0;
          },
          45_000,
          1000,
        );
        const real = (await pods()).find((p) => p.metadata.name === "p-edge-real");
        assert.equal(real?.status?.containerStatuses?.[0]?.containerID, realContainer);
        const running = (await cri.listContainers()).filter((c) => c.state === "CONTAINER_RUNNING").map((c) =>
          c.id
        );
        assert.ok(running.some((id) => realContainer.endsWith(id)), "the container was never restarted");
      },
    );

    await t.step(
      "nothing written twice: no pod present before the kill has a new resourceVersion",
      async () => {
        const now = new Map((await pods()).map((p) => [p.metadata.name, p.metadata.resourceVersion]));
        for (const [name, rv] of versions) assert.equal(now.get(name), rv, `pod ${name} was written again`);
        assert.equal(counters.errors.podpatch, 0, counters.errorSamples.join("; "));
      },
    );
  } finally {
    for (const sim of sims) sim.stop();
    cri.close();
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await rt.stop();
    await run.remove();
  }
});

/** Whether the last session event for `node` in a cloudcore log is a connect. */
async function holds(logFile: string, node: string): Promise<boolean> {
  const lines = (await Deno.readTextFile(logFile)).split("\n").filter((l) => l.includes(`"node":"${node}"`));
  const last = lines.findLast((l) => l.includes('"node connected"') || l.includes('"node disconnected"'));
  return last?.includes('"node connected"') ?? false;
}
