// Soak: hours of a small cluster's life compressed into --minutes, and what it leaves behind.
//
//   bin/deno run --frozen --allow-all bench/soak.ts [--minutes 30] [--edges 50] [--per-node 3]
//     [--apiserver-restarts 1]
//   (make soak MINUTES=30; KEDGE_KEEP_BENCH=DIR keeps every log, the samples CSV and the result JSON)
//
// Control plane (etcd, kube-apiserver with an audit log of cloudcore's requests only, controller-manager,
// scheduler), containerd, cloudcore, one real edgecore joined with a token, --edges simulated edges
// (bench/edge_sim.ts) in a child process, one Device per node. Churn (bench/soak_churn.ts) for --minutes:
// a pod created and the oldest deleted every 2 s, a ConfigMap update every 10 s, twin reports every 10 s
// per device. cloudcore restarts (SIGTERM, same config) at 1/3; the apiserver is SIGKILLed at 2/3 and
// started 20 s later. Then quiescence, the node-by-node comparison (bench/soak_consistency.ts) and the
// figures (bench/soak_report.ts). Exits 1 when any node misses, has extra or stale objects.
import { join } from "node:path";
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "../tests/cluster/mod.ts";
import { startTestRuntime } from "../tests/containerd/mod.ts";
import { type Cloud, joinEdge, startCloud, startEdge } from "../tests/harness/kedge.ts";
import { writeSimEdgeCredentials } from "./edge_sim_certs.ts";
import { spawnSimEdges } from "./edge_sim_process.ts";
import { Churn } from "./soak_churn.ts";
import {
  compareNode,
  expectedHoldings,
  type Held,
  type NodeResult,
  problems,
  realEdgeHoldings,
} from "./soak_consistency.ts";
import { Kube } from "./soak_kube.ts";
import { printReport, type RunFacts } from "./soak_output.ts";
import { auditFlags, cloudcoreKubeconfig, createFixtures, deviceName, NAMESPACE } from "./soak_setup.ts";
import {
  AuditCounter,
  cpuSeconds,
  GcLog,
  processSample,
  recordedPid,
  type Sample,
  scrape,
  sumBy,
} from "./soak_sampler.ts";

const arg = (name: string, fallback: string) => {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] ?? fallback : fallback;
};
const MINUTES = Number(arg("minutes", "30"));
const EDGES = Number(arg("edges", "50"));
const PER_NODE = Number(arg("per-node", "3"));
/** How many times the apiserver is killed (to tell a one-time step in memory from growth per restart). */
const APISERVER_RESTARTS = Number(arg("apiserver-restarts", "1"));
const SAMPLE_MS = 10_000;
const QUIESCE_MS = 30_000;
const APISERVER_DOWN_MS = 20_000;
const KEEP = Deno.env.get("KEDGE_KEEP_BENCH");
if (!(MINUTES > 0) || !(EDGES >= 1)) {
  throw new RangeError("Cannot soak: --minutes and --edges must be positive");
}

/** Runs `start` with DENO_V8_FLAGS=--trace-gc, so only cloudcore and edgecore runs get it (not `cloudcore
 * gettoken` or `edgecore join`, whose output is read): their heap after each full GC is in their logs. */
async function traced<T>(start: () => Promise<T>): Promise<T> {
  Deno.env.set("DENO_V8_FLAGS", "--trace-gc");
  try {
    return await start();
  } finally {
    Deno.env.delete("DENO_V8_FLAGS");
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const log = (...parts: unknown[]) =>
  console.error(`[${new Date().toISOString().slice(11, 19)}] soak:`, ...parts);

const facts: RunFacts = {
  minutes: MINUTES,
  edges: EDGES,
  date: new Date().toISOString(),
  loadBefore: loadavg(),
  loadAfter: "",
  events: [],
};
log(
  `${MINUTES} min, 1 real + ${EDGES} simulated edges; load ${facts.loadBefore}; ${navigator.hardwareConcurrency} cores`,
);
const run = await createRunDir("soak");
const audit = await auditFlags(run.path);
const cp = await startControlPlane({ controllers: true, extraArgs: { apiserver: audit.flags } });
const kube = new Kube(cp);
const rt = await startTestRuntime("soak-rt");
const stops: Array<() => Promise<void>> = [];
let exitCode = 1;
try {
  const cloudCp = { ...cp, kubeconfigPath: await cloudcoreKubeconfig(cp, run.path) };
  let cloud: Cloud = await traced(() => startCloud(run, cloudCp, { name: "cloudcore-1" }));
  let cloudInstance = 1;
  stops.push(() => cloud.stop());
  const realName = "soak-edge";
  const joined = await joinEdge(run, cloud, realName, (config) => {
    config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
    config.modules!.edged!.podSandboxImage = rt.images.pause;
  });
  const edgeConfig = parse(await Deno.readTextFile(joined.configFile));
  const edgeMetricsPort = Number(String(edgeConfig.modules.edgeStream.server).split(":").pop());
  const mqttPort = Number(String(edgeConfig.modules.eventBus.mqttServerInternal).split(":").pop());
  const edge = await traced(() => startEdge(run, joined));
  stops.push(() => edge.stop());
  await edge.waitForLog("connected to cloudcore", 60_000);

  const simNames = Array.from({ length: EDGES }, (_, i) => `sim-${String(i).padStart(2, "0")}`);
  const nodes = [realName, ...simNames];
  const casecret = await kube.json<{ data: Record<string, string> }>(
    "GET",
    "/api/v1/namespaces/kubeedge/secrets/casecret",
  );
  await writeSimEdgeCredentials(casecret.data, simNames, run.path);
  const sims = spawnSimEdges(run, {
    port: cloud.ports.websocket,
    maxSeconds: MINUTES * 60 + 1800,
    twinEverySeconds: 10,
  });
  stops.push(() => sims.stop());
  log("simulated edges:", JSON.stringify(await sims.next("registered", 180_000)));
  await sims.next("nodesSeen", 120_000);
  await kube.until("every node Ready", async () => {
    const ready = (await kube.list("/api/v1/nodes")).filter((n) =>
      ((n.status?.conditions ?? []) as Array<{ type: string; status: string }>).some((c) =>
        c.type === "Ready" && c.status === "True"
      )
    );
    return nodes.every((name) => ready.some((n) => n.metadata.name === name));
  }, 120_000);
  await createFixtures(kube, nodes);
  const churn = new Churn({
    kube,
    nodes,
    perNode: PER_NODE,
    image: rt.images.busybox,
    tickMs: 2_000,
    configMapEveryTicks: 5,
    realEdge: { name: realName, mqttPort },
    twinEveryMs: 10_000,
    record: (pid) => run.record(pid),
  });
  await churn.fill();
  log(`${churn.livePods} pods created; waiting until they run`);
  await kube.until(
    "every pod Running",
    async () => {
      const pods = await kube.list(`/api/v1/namespaces/${NAMESPACE}/pods`);
      return pods.length > 0 && pods.every((p) => p.status?.phase === "Running");
    },
    180_000,
    2_000,
  );

  // The clock starts: samples, churn, and the two restarts.
  const audits = new AuditCounter(audit.logPath);
  let cloudGc = new GcLog(cloud.logFile);
  const edgeGc = new GcLog(edge.logFile);
  const samples: Sample[] = [];
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  const event = (what: string) => {
    facts.events.push({ t: Math.round(elapsed()), what });
    log(what);
  };
  await sims.ask("mark", "marked");
  const sample = async () => {
    const [cm, em] = await Promise.all([scrape(cloud.ports.metrics), scrape(edgeMetricsPort)]);
    await audits.read();
    samples.push({
      t: Math.round(elapsed()),
      cloud: processSample(cm, "kedge_cloud", cloud.pid, await cloudGc.lastFullGc()),
      cloudInstance,
      edge: processSample(em, "kedge_edge", edge.pid, await edgeGc.lastFullGc()),
      simsCpuSeconds: cpuSeconds(sims.pid),
      apiserverCpuSeconds: cpuSeconds(recordedPid(cp.dir, "kube-apiserver")),
      watchRestarts: cm ? sumBy(cm, "kedge_cloud_watch_restarts_total", "reason") : {},
      informerLists: cm ? sumBy(cm, "kedge_cloud_informer_lists_total")[""] ?? 0 : NaN,
      load: loadavg(),
    });
  };
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling; i++) {
      await sample().catch((error) => log("sample failed:", error.message));
      const s = samples.at(-1);
      if (i % 6 === 5 && s) {
        const mib = (b: number) => (b / 1048576).toFixed(0);
        log(
          `t=${s.t} s: cloudcore RSS ${mib(s.cloud.rss)} MiB heap-min ${
            mib(s.cloud.heapMin)
          } MiB; edgecore RSS ${mib(s.edge.rss)} MiB heap-min ${
            mib(s.edge.heapMin)
          } MiB; pods created ${churn.counts.created} deleted ${churn.counts.deleted}`,
        );
      }
      await sleep(t0 + (i + 1) * SAMPLE_MS - Date.now());
    }
  })();
  churn.start();
  const T = MINUTES * 60_000;
  log(`churn started for ${MINUTES} min; a line a minute`);

  await sleep(t0 + T / 3 - Date.now());
  const edgeConnects = async () =>
    (await Deno.readTextFile(edge.logFile)).split("\n").filter((l) => l.includes('"connected to cloudcore"'))
      .length;
  const connectsBefore = await edgeConnects();
  event("cloudcore: SIGTERM");
  const down = Date.now();
  await cloud.stop();
  cloud = await traced(() => startCloud(run, cloudCp, { name: "cloudcore-2", ports: cloud.ports }));
  cloudGc = new GcLog(cloud.logFile);
  cloudInstance = 2;
  event(`cloudcore: started again, ready after ${((Date.now() - down) / 1000).toFixed(1)} s`);
  void (async () => {
    for (let i = 0; i < 120; i++) {
      if ((await edgeConnects()) > connectsBefore) return event("edgecore: connected again");
      await sleep(1_000);
    }
    event("edgecore: not connected again after 120 s");
  })();
  void (async () => {
    for (let i = 0; i < 120; i++) {
      const open = Number((await sims.ask("report", "report")).open);
      if (open === EDGES) return event(`simulated edges: all ${EDGES} connected again`);
      await sleep(1_000);
    }
    event("simulated edges: not all connected again after 120 s");
  })();

  // The apiserver crash(es), spread over the last two thirds (one, at 2/3, by default).
  for (let k = 1; k <= APISERVER_RESTARTS; k++) {
    await sleep(t0 + T / 3 + (k * (2 * T)) / 3 / (APISERVER_RESTARTS + 1) - Date.now());
    event("kube-apiserver: SIGKILL");
    await cp.apiserver.kill();
    await sleep(APISERVER_DOWN_MS);
    const restarting = Date.now();
    await cp.apiserver.start();
    event(`kube-apiserver: started again, ready after ${((Date.now() - restarting) / 1000).toFixed(1)} s`);
  }

  await sleep(t0 + T - Date.now());
  await churn.stop();
  const churnEnd = Date.now();
  await sims.command("twins-off");
  event(`churn stopped; quiescence ${QUIESCE_MS / 1000} s`);
  const simReport = await sims.ask("report", "report");
  await sleep(QUIESCE_MS);
  sampling = false;
  await sampler;
  await audits.read();

  // Node by node, until clean or three tries.
  const dbPath = join(run.path, `${realName}.db`);
  const tries: NodeResult[][] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const expected = await expectedHoldings(kube, nodes);
    await sleep(5_000); // whatever the edges got since the list is "ahead", not wrong
    const held = (await sims.ask("holdings", "holdings")).edges as Record<string, Held>;
    const realTwins: Record<string, string> = churn.lastRealTwin
      ? { [`${NAMESPACE}/${deviceName(realName)}`]: churn.lastRealTwin }
      : {};
    held[realName] = realEdgeHoldings(dbPath, realTwins);
    tries.push(
      nodes.map((n) => compareNode(n, expected.get(n)!, held[n] ?? { objects: [], devices: [], twins: {} })),
    );
    const total = tries.at(-1)!.reduce((a, r) => a + problems(r), 0);
    log(`comparison ${attempt}: ${total} problems`);
    if (total === 0) break;
    await sleep(10_000);
  }
  const notRunning = (await kube.list(`/api/v1/namespaces/${NAMESPACE}/pods`)).filter((p) =>
    p.status?.phase !== "Running"
  ).map((p) => `${p.metadata.name} (${p.spec?.nodeName}: ${p.status?.phase})`);
  facts.loadAfter = loadavg();
  const ok = printReport({
    facts,
    samples,
    cloudRestartS: T / 3000,
    audit: audits.count(t0, churnEnd),
    churnSeconds: (churnEnd - t0) / 1000,
    nodes: nodes.length,
    churn: churn.counts,
    sims: simReport,
    tries,
    notRunning,
    keep: KEEP,
  });
  exitCode = ok ? 0 : 1;
} catch (error) {
  log("failed:", error);
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await rt.stop().catch(() => {});
  if (KEEP) {
    await Deno.mkdir(KEEP, { recursive: true });
    for (const dir of [run.path, cp.dir]) {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isFile && /\.(log|yaml)$/.test(entry.name)) {
          await Deno.copyFile(join(dir, entry.name), join(KEEP, entry.name));
        }
      }
    }
    log(`logs kept in ${KEEP}`);
  }
  kube.close();
  await cp.stop().catch(() => {});
  await run.remove();
}
Deno.exit(exitCode);
