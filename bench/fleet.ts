/**
 * A fleet on several cloudcores: figures, not pass/fail (exit 1 only when objects were lost or written
 * twice). A real control plane (with controllers, so a node whose Lease lapses goes NotReady), --replicas
 * cloudcores behind Debian's HAProxy in TCP mode (tests/harness/haproxy.ts), --edges simulated edges
 * (bench/edge_sim.ts in one process: KubeEdge's rates, Lease and node status every 10 s, keepalive 15 s)
 * with --per-node pods each. Then one replica is SIGKILLed while a ConfigMap every pod refers to changes:
 *
 *   KEDGE_CONTROL_PLANE_DIR=$(bash tests/cluster/build.sh) bin/deno run --frozen --allow-all bench/fleet.ts \
 *     [--replicas 3] [--edges 1000] [--per-node 1] [--qps 1000] [--burst 2000]
 *
 * Reported: how the balancer spread the sessions, the time from the kill until every edge has a session
 * again and until every Node is Ready, Nodes that went NotReady, the node-by-node comparison of what each
 * edge holds against the apiserver (bench/soak_consistency.ts), pods written again after the kill, and each
 * replica's RSS and CPU.
 */
import { writeSimEdgeCredentials } from "./edge_sim_certs.ts";
import { spawnSimEdges } from "./edge_sim_process.ts";
import { compareNode, expectedHoldings, type Held, problems } from "./soak_consistency.ts";
import { Kube } from "./soak_kube.ts";
import { createRunDir, startControlPlane } from "../tests/cluster/mod.ts";
import { startBalancer } from "../tests/harness/haproxy.ts";
import { type Cloud, metric, startCloud } from "../tests/harness/kedge.ts";

const argv = Deno.args;
const arg = (name: string, fallback: string): number => {
  const at = argv.indexOf(`--${name}`);
  const value = Number(at >= 0 ? argv[at + 1] : fallback);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`Cannot run: --${name} must be a number`);
  return value;
};
const REPLICAS = arg("replicas", "3");
const EDGES = arg("edges", "1000");
const PER_NODE = arg("per-node", "1");
const QPS = { qps: arg("qps", "1000"), burst: arg("burst", "2000") };

const t0 = performance.now();
const say = (text: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${text}`);
const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(1);

await using cp = await startControlPlane({
  controllers: true,
  extraArgs: { controllerManager: ["--node-monitor-grace-period=40s"] },
});
const kube = new Kube(cp);
const run = await createRunDir("fleet");
const stops: Array<() => Promise<void>> = [];
try {
  const replicas: Cloud[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    const cloud = await startCloud(run, cp, {
      name: `cloudcore-${i}`,
      cloudHub: { nodeLimit: EDGES + 100 },
      kubeAPIConfig: QPS,
    });
    stops.push(() => cloud.stop());
    replicas.push(cloud);
  }
  const lb = await startBalancer(run, [{ name: "hub", backends: replicas.map((r) => r.ports.websocket) }]);
  stops.push(() => lb.stop());
  const nodes = Array.from({ length: EDGES }, (_, i) => `fleet-${i}`);
  const casecret = await kube.json<{ data: Record<string, string> }>(
    "GET",
    "/api/v1/namespaces/kubeedge/secrets/casecret",
  );
  await writeSimEdgeCredentials(casecret.data, nodes, run.path);
  say(`${REPLICAS} cloudcores behind haproxy; ${EDGES} edge certificates`);

  const sims = spawnSimEdges(run, { port: lb.ports.hub!, maxSeconds: 1800, twinEverySeconds: 0 });
  stops.push(() => sims.stop());
  const dialled = performance.now();
  await sims.next("registered", 600_000);
  await sims.next("nodesSeen", 600_000);
  const sessions = async (clouds: Cloud[]) =>
    await Promise.all(
      clouds.map(async (c) => (await metric(c.ports.metrics, "kedge_cloudhub_connected_nodes")) ?? 0),
    );
  say(
    `every edge registered and has its Node in ${seconds(dialled)} s; sessions per replica ${await sessions(
      replicas,
    )}`,
  );

  await kube.json("POST", "/api/v1/namespaces/default/configmaps", {
    metadata: { name: "fleet" },
    data: { v: "1" },
  });
  const created = performance.now();
  for (let i = 0; i < EDGES * PER_NODE; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, EDGES * PER_NODE - i) }, (_, j) => {
      const n = i + j;
      return kube.json("POST", "/api/v1/namespaces/default/pods", {
        metadata: { name: `p-${n}` },
        spec: {
          nodeName: nodes[n % EDGES],
          containers: [{ name: "c", image: "busybox", envFrom: [{ configMapRef: { name: "fleet" } }] }],
        },
      });
    }));
  }
  await kube.until(
    "every pod Running",
    async () => {
      const pods = await kube.list("/api/v1/namespaces/default/pods");
      return pods.filter((p) => p.status?.phase === "Running").length === EDGES * PER_NODE;
    },
    600_000,
    1000,
  );
  say(`${EDGES * PER_NODE} pods Running ${seconds(created)} s after the first create`);

  const readyNodes = async () => {
    const list = await kube.list("/api/v1/nodes");
    const ready = (n: (typeof list)[number]) =>
      ((n.status?.conditions ?? []) as Array<{ type: string; status: string }>).some((c) =>
        c.type === "Ready" && c.status === "True"
      );
    return list.filter((n) => nodes.includes(n.metadata.name) && ready(n)).length;
  };
  const versions = new Map(
    (await kube.list("/api/v1/namespaces/default/pods")).map((
      p,
    ) => [p.metadata.name, p.metadata.resourceVersion]),
  );
  const before = await sessions(replicas);
  const victim = before.indexOf(Math.max(...before));
  const survivors = replicas.filter((_, i) => i !== victim);
  const killed = performance.now();
  Deno.kill(replicas[victim]!.pid, "SIGKILL");
  await kube.json("PUT", "/api/v1/namespaces/default/configmaps/fleet", {
    metadata: { name: "fleet" },
    data: { v: "2" },
  });
  say(`SIGKILLed cloudcore-${victim} holding ${before[victim]} sessions; ConfigMap changed`);
  let notReadySeen = 0;
  let back = "";
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    const now = (await sessions(survivors)).reduce((a, b) => a + b, 0);
    const ready = await readyNodes();
    notReadySeen = Math.max(notReadySeen, EDGES - ready);
    if (!back && now === EDGES) back = seconds(killed);
    if (back && ready === EDGES) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const allReady = seconds(killed);
  say(`every edge back on a survivor after ${back || "never"} s, every Node Ready after ${allReady} s`);

  await sims.command("mark");
  let bad: ReturnType<typeof compareNode>[] = [];
  await kube.until(
    "every edge holds what it should",
    async () => {
      const expected = await expectedHoldings(kube, nodes);
      const held = (await sims.ask("holdings", "holdings")).edges as Record<string, Held>;
      bad = nodes.map((n) =>
        compareNode(n, expected.get(n)!, { ...(held[n] ?? { objects: [], devices: [] }), twins: {} })
      )
        .filter((r) => problems(r) > 0);
      return bad.length === 0;
    },
    120_000,
    2000,
  ).catch(() => {});
  const rewritten = (await kube.list("/api/v1/namespaces/default/pods"))
    .filter((p) => versions.get(p.metadata.name) !== p.metadata.resourceVersion).length;
  const usage = await Promise.all(survivors.map(async (c) => ({
    rssMiB: Math.round(
      ((await metric(c.ports.metrics, "kedge_cloud_process_resident_memory_bytes")) ?? 0) / 2 ** 20,
    ),
    sessions: (await metric(c.ports.metrics, "kedge_cloudhub_connected_nodes")) ?? 0,
  })));

  console.log(`
| fleet: ${REPLICAS} replicas, ${EDGES} edges x ${PER_NODE} pods, qps ${QPS.qps} | value |
| --- | --- |
| sessions per replica before the kill | ${before.join(" / ")} |
| killed replica's sessions | ${before[victim]} |
| kill -> every edge has a session again | ${back || "never"} s |
| kill -> every Node Ready | ${allReady} s |
| most Nodes not Ready at once | ${notReadySeen} |
| edges holding what they should (missing, extra or stale objects) | ${EDGES - bad.length} / ${EDGES} |
| pods written again after the kill | ${rewritten} |
| survivors: sessions, RSS (MiB) | ${usage.map((u) => `${u.sessions}, ${u.rssMiB}`).join(" / ")} |
`);
  if (bad.length > 0) console.log(JSON.stringify(bad.slice(0, 3)));
  if (bad.length > 0 || rewritten > 0) Deno.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await run.remove();
}
