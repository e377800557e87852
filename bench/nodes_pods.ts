// Edge nodes and pods through the Kubernetes API: figures, not pass/fail, loopback only.
//
//   bin/deno run --frozen --allow-all bench/nodes_pods.ts [--part 1,2,3] [--pods 50] [--cycles 200]
//     [--nodes 100] [--per-node 20] [--steady 60] [--qps 100 --burst 200]
//
// 1. `kubectl apply` of a pod -> Running as the apiserver's watch shows it, p50/p99 over --pods pods
//    (hostNetwork, then CNI), one at a time, on a real control plane (with scheduler and controllers) +
//    cloudcore + one edgecore + containerd (tests/harness, tests/containerd). Ratio against the pod manager's
//    direct CRI figures (bench/pod_start.ts).
// 2. --cycles create/delete cycles of one pod (through the API): cloudcore's and edgecore's RSS every 20
//    cycles (/proc/<pid>/status VmRSS), least-squares slope in KiB per cycle.
// 3. --nodes simulated edges (bench/nodes_pods_edges.ts, certificates from the CA in Secret kubeedge/casecret)
//    x --per-node pods each against one cloudcore: time until every pod shows Running, apiserver requests
//    (apiserver_request_total by verb, and the audit log by user: cloudcore has its own client certificate,
//    CN=kedge-cloudcore), cloudcore RSS and CPU, during the burst and over a --steady s window after it.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { writeSimEdgeCredentials } from "./edge_sim_certs.ts";
import { controlPlaneBinaries, createRunDir, startControlPlane } from "../tests/cluster/mod.ts";
import type { ControlPlane } from "../tests/cluster/mod.ts";
import { kubeconfigYaml } from "../tests/cluster/cluster_pki.ts";
import { startTestRuntime } from "../tests/containerd/mod.ts";
import { joinEdge, startCloud, startEdge } from "../tests/harness/kedge.ts";

const argv = Deno.args;
const arg = (name: string, fallback: string): string => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] ?? fallback : fallback;
};
const PARTS = new Set(arg("part", "1,2,3").split(",").map(Number));
const PODS = Number(arg("pods", "50"));
const CYCLES = Number(arg("cycles", "200"));
const NODES = Number(arg("nodes", "100"));
const PER_NODE = Number(arg("per-node", "20"));
const STEADY_S = Number(arg("steady", "60"));
/** cloudcore's kubeAPIConfig qps/burst (KubeEdge's defaults 100/200 unless given). */
const QPS = argv.includes("--qps")
  ? { qps: Number(arg("qps", "100")), burst: Number(arg("burst", "200")) }
  : {};
/** --trace-gc: cloudcore and edgecore run with DENO_V8_FLAGS=--trace-gc; the heap after each full GC is read
 * from their logs (V8 prints it on stdout, which the harness appends to the component's log). */
const TRACE_GC = argv.includes("--trace-gc");
/** KEDGE_KEEP_BENCH=DIR keeps the logs of every component (apiserver, cloudcore, edgecore) in DIR. */
const KEEP = Deno.env.get("KEDGE_KEEP_BENCH");
/** Runs `start` with DENO_V8_FLAGS=--trace-gc in the environment (when asked), so only cloudcore and edgecore
 * runs get it, not `cloudcore gettoken` or `edgecore join`, whose stdout is read. */
async function traced<T>(start: () => Promise<T>): Promise<T> {
  if (!TRACE_GC) return await start();
  Deno.env.set("DENO_V8_FLAGS", "--trace-gc");
  try {
    return await start();
  } finally {
    Deno.env.delete("DENO_V8_FLAGS");
  }
}
/** The pod manager's direct CRI figures (bench/pod_start.ts, pods issue): p50/p99 ms. */
const DIRECT = { host: { p50: 108, p99: 143 }, cni: { p50: 132, p99: 164 } };
const HERE = fileURLToPath(new URL(".", import.meta.url));
const DENO = Deno.execPath();

// ---------------------------------------------------------------------------------------------------------
// small helpers

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const loadavg = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...parts: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);

function rssKiB(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? NaN);
}
/** user+system CPU seconds of a process (all its threads). */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}
function comm(pid: number): string {
  return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
}
/** The pid of a process whose command line contains `needle`. */
function findPid(needle: string): number | undefined {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(needle)) return Number(entry.name);
    } catch { /* gone */ }
  }
  return undefined;
}

/** MiB of V8 heap after the last full GC (Mark-Compact) in a --trace-gc log, and how many there were. */
function heapAfterGc(logFile: string): { mib: number; count: number } {
  const text = Deno.readTextFileSync(logFile);
  let mib = NaN;
  let count = 0;
  for (const m of text.matchAll(/Mark-Compact[^\n]*?-> ([\d.]+) \(([\d.]+)\) MB/g)) {
    mib = Number(m[1]);
    count++;
  }
  return { mib, count };
}

async function keepLogs(part: string, dirs: string[]) {
  if (!KEEP) return;
  const to = join(KEEP, part);
  await Deno.mkdir(to, { recursive: true });
  for (const dir of dirs) {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && entry.name.endsWith(".log")) {
        await Deno.copyFile(join(dir, entry.name), join(to, entry.name)).catch(() => {});
      }
    }
  }
}

/** Least-squares slope and intercept of y over x. */
function fit(points: Array<[number, number]>): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)]
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// a tiny Kubernetes client: fetch with the admin client certificate, and a pod watch

interface Pod {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

class Kube {
  readonly client: Deno.HttpClient;
  constructor(readonly cp: ControlPlane) {
    this.client = Deno.createHttpClient({
      caCerts: [cp.caPem],
      cert: cp.pki.adminCertPem,
      key: cp.pki.adminKeyPem,
    });
  }
  async raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return await fetch(`${this.cp.server}${path}`, {
      method,
      client: this.client,
      headers: { "content-type": "application/json", "user-agent": "kedge-bench" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  }
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
  /** Calls onEvent for every pod event in `namespace`, from a fresh list on; returns a stop function. */
  watchPods(namespace: string, onEvent: (type: string, pod: Pod, at: number) => void): () => void {
    const abort = new AbortController();
    const ready = (async () => {
      const list = await this.json<{ metadata: { resourceVersion: string }; items: Pod[] }>(
        "GET",
        `/api/v1/namespaces/${namespace}/pods`,
      );
      for (const pod of list.items) onEvent("ADDED", pod, performance.now());
      let rv = list.metadata.resourceVersion;
      while (!abort.signal.aborted) {
        try {
          const res = await this.raw(
            "GET",
            `/api/v1/namespaces/${namespace}/pods?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`,
            undefined,
            abort.signal,
          );
          const decoder = new TextDecoder();
          let buffered = "";
          for await (const chunk of res.body!) {
            const at = performance.now();
            buffered += decoder.decode(chunk, { stream: true });
            let nl: number;
            while ((nl = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, nl);
              buffered = buffered.slice(nl + 1);
              if (!line.trim()) continue;
              const event = JSON.parse(line) as { type: string; object: Pod };
              if (event.object?.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion;
              if (event.type === "BOOKMARK") continue;
              if (event.type === "ERROR") throw new Error(`watch error: ${line.slice(0, 200)}`);
              onEvent(event.type, event.object, at);
            }
          }
        } catch (error) {
          if (abort.signal.aborted) return;
          log("pod watch restarted:", (error as Error).message);
          await sleep(200);
        }
      }
    })();
    ready.catch((error) => log("pod watch failed:", error));
    return () => abort.abort();
  }
  /** Sum of apiserver_request_total by verb (and the raw per-resource series). */
  async requestTotals(): Promise<Map<string, number>> {
    const res = await this.raw("GET", "/metrics");
    const text = await res.text();
    const byKey = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line.startsWith("apiserver_request_total{")) continue;
      const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
      const get = (k: string) => labels.match(new RegExp(`(?:^|,)${k}="([^"]*)"`))?.[1] ?? "";
      const value = Number(line.split(" ").at(-1));
      const key = `${get("verb")} ${get("resource")}${get("subresource") ? "/" + get("subresource") : ""}`;
      byKey.set(key, (byKey.get(key) ?? 0) + value);
    }
    return byKey;
  }
  close() {
    this.client.close();
  }
}

function diffTotals(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
function byVerb(detail: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of detail) {
    const verb = k.split(" ")[0]!;
    out.set(verb, (out.get(verb) ?? 0) + v);
  }
  return out;
}

async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const { kubectl: path } = await controlPlaneBinaries();
  const child = new Deno.Command(path, {
    args: [`--kubeconfig=${kubeconfig}`, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = fn();
    if (v) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const out: string[] = [];
const emit = (text: string) => {
  out.push(text);
  console.log(text);
};

// ---------------------------------------------------------------------------------------------------------
// parts 1 and 2: one real edgecore with containerd

async function realEdge() {
  const loadStart = loadavg();
  const cp = await startControlPlane({ controllers: true });
  const kube = new Kube(cp);
  const rt = await startTestRuntime("bench-np");
  const run = await createRunDir("bench-np");
  const stops: Array<() => Promise<void>> = [];
  try {
    const cloud = await traced(() => startCloud(run, cp));
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, "edge-1", (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
    });
    const edge = await traced(() => startEdge(run, joined));
    stops.push(() => edge.stop());
    log(`cloudcore pid ${cloud.pid} (${comm(cloud.pid)}), edgecore pid ${edge.pid} (${comm(edge.pid)})`);
    const nodeReady = async () => {
      const node = await kube.json<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
        "GET",
        "/api/v1/nodes/edge-1",
      ).catch(() => undefined);
      return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    };
    for (let i = 0; !(await nodeReady()); i++) {
      if (i > 300) throw new Error("edge-1 not Ready in 60 s");
      await sleep(200);
    }
    for (
      let i = 0;
      (await kube.raw("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status !== 200;
      i++
    ) {
      if (i > 300) throw new Error("no default ServiceAccount in 60 s");
      await sleep(200);
    }

    const seen = new Map<
      string,
      { added?: number; scheduled?: number; running?: number; deleted?: number }
    >();
    const stopWatch = kube.watchPods("default", (type, pod, at) => {
      const s = seen.get(pod.metadata.name) ?? {};
      seen.set(pod.metadata.name, s);
      s.added ??= at;
      if (pod.spec?.nodeName) s.scheduled ??= at;
      if (pod.status?.phase === "Running") s.running ??= at;
      if (type === "DELETED") s.deleted ??= at;
    });
    stops.push(() => Promise.resolve(stopWatch()));
    await sleep(500);

    const podManifest = (name: string, hostNetwork: boolean) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels: { bench: "nodes-pods" } },
      spec: {
        hostNetwork,
        nodeSelector: { "node-role.kubernetes.io/edge": "" },
        terminationGracePeriodSeconds: 0,
        containers: [{
          name: "c",
          image: rt.images.busybox,
          imagePullPolicy: "IfNotPresent",
          // Exits on SIGTERM at once, so a delete does not wait for the 2 s grace floor.
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
        }],
      },
    });
    const waitRunning = (name: string, ms = 120_000) =>
      until(`${name} Running`, () => seen.get(name)?.running, ms, 2);
    const waitGone = (name: string, ms = 120_000) =>
      until(`${name} deleted`, () => seen.get(name)?.deleted, ms, 2);

    // Warm-up: image pull, first CNI setup, first delivery.
    for (const hostNetwork of [true, false]) {
      const name = `warm-${hostNetwork ? "host" : "cni"}`;
      await kubectl(cp.kubeconfigPath, ["apply", "-f", "-"], JSON.stringify(podManifest(name, hostNetwork)));
      await waitRunning(name);
    }

    if (PARTS.has(1)) {
      log(`part 1: ${PODS} hostNetwork + ${PODS} CNI pods through kubectl apply`);
      const load0 = loadavg();
      const results: Record<
        string,
        { total: number[]; kubectl: number[]; fromAdded: number[]; schedToRun: number[] }
      > = {};
      for (const kind of ["host", "cni"] as const) {
        const r = results[kind] = {
          total: [] as number[],
          kubectl: [] as number[],
          fromAdded: [] as number[],
          schedToRun: [] as number[],
        };
        for (let i = 0; i < PODS; i++) {
          const name = `p1-${kind}-${i}`;
          const t0 = performance.now();
          await kubectl(
            cp.kubeconfigPath,
            ["apply", "-f", "-"],
            JSON.stringify(podManifest(name, kind === "host")),
          );
          const tk = performance.now();
          const running = await waitRunning(name);
          const s = seen.get(name)!;
          r.total.push(running - t0);
          r.kubectl.push(tk - t0);
          r.fromAdded.push(running - s.added!);
          r.schedToRun.push(running - s.scheduled!);
        }
      }
      const load1 = loadavg();
      const f = (v: number) => v.toFixed(0);
      const rows = (["host", "cni"] as const).flatMap((kind) => {
        const r = results[kind]!;
        const d = DIRECT[kind];
        const p50 = percentile(r.total, 50);
        const p99 = percentile(r.total, 99);
        return [[
          kind === "host" ? "hostNetwork" : "CNI (bridge)",
          `${f(p50)} / ${f(p99)}`,
          `${f(percentile(r.kubectl, 50))} / ${f(percentile(r.kubectl, 99))}`,
          `${f(percentile(r.fromAdded, 50))} / ${f(percentile(r.fromAdded, 99))}`,
          `${f(percentile(r.schedToRun, 50))} / ${f(percentile(r.schedToRun, 99))}`,
          `${d.p50} / ${d.p99}`,
          `${(p50 / d.p50).toFixed(2)} / ${(p99 / d.p99).toFixed(2)}`,
        ]];
      });
      emit(
        `\nPart 1: kubectl apply -> Running (apiserver watch), ${PODS} pods each, one at a time (ms, p50 / p99)`,
      );
      emit(table([
        "pod",
        "kubectl apply -> Running",
        "kubectl apply exits",
        "created (watch ADDED) -> Running",
        "bound -> Running",
        "direct CRI (pod manager)",
        "ratio total / direct",
      ], rows));
      emit(`load average before -> after: ${load0} -> ${load1}`);
    }

    // Clean up part 1's pods before the cycles.
    await kubectl(cp.kubeconfigPath, [
      "delete",
      "pods",
      "-l",
      "bench=nodes-pods",
      "--wait=true",
      "--timeout=120s",
    ]);

    if (PARTS.has(2)) {
      log(`part 2: ${CYCLES} create/delete cycles`);
      const load0 = loadavg();
      const samples: Array<
        {
          cycle: number;
          cloud: number;
          edge: number;
          cloudHeap?: { mib: number; count: number };
          edgeHeap?: { mib: number; count: number };
        }
      > = [];
      const sample = (cycle: number) =>
        samples.push({
          cycle,
          cloud: rssKiB(cloud.pid),
          edge: rssKiB(edge.pid),
          cloudHeap: TRACE_GC ? heapAfterGc(cloud.logFile) : undefined,
          edgeHeap: TRACE_GC ? heapAfterGc(edge.logFile) : undefined,
        });
      sample(0);
      const cycleMs: number[] = [];
      const started = performance.now();
      for (let i = 1; i <= CYCLES; i++) {
        const name = `p2-${i}`;
        const t0 = performance.now();
        await kube.json("POST", "/api/v1/namespaces/default/pods", podManifest(name, false));
        await waitRunning(name);
        await kube.json("DELETE", `/api/v1/namespaces/default/pods/${name}`);
        await waitGone(name);
        seen.delete(name);
        cycleMs.push(performance.now() - t0);
        if (i % 20 === 0) {
          sample(i);
          log(`  cycle ${i}: cloudcore ${samples.at(-1)!.cloud} KiB, edgecore ${samples.at(-1)!.edge} KiB`);
        }
      }
      const elapsed = (performance.now() - started) / 1000;
      const load1 = loadavg();
      const warm = samples.filter((s) => s.cycle >= 40);
      const slope = (pick: (s: (typeof samples)[0]) => number, from: typeof samples) =>
        fit(from.map((s) => [s.cycle, pick(s)])).slope;
      emit(
        `\nPart 2: ${CYCLES} create -> Running -> delete -> gone cycles of a CNI pod (${
          elapsed.toFixed(0)
        } s, cycle p50 ${percentile(cycleMs, 50).toFixed(0)} ms, p99 ${
          percentile(cycleMs, 99).toFixed(0)
        } ms); RSS in MiB every 20 cycles`,
      );
      const gc = (h?: { mib: number; count: number }) => h ? `${h.mib.toFixed(1)} (${h.count} GCs)` : "";
      emit(table(
        [
          "cycle",
          "cloudcore RSS",
          "edgecore RSS",
          ...(TRACE_GC ? ["cloudcore heap after last full GC", "edgecore heap after last full GC"] : []),
        ],
        samples.map((s) => [
          s.cycle,
          (s.cloud / 1024).toFixed(1),
          (s.edge / 1024).toFixed(1),
          ...(TRACE_GC ? [gc(s.cloudHeap), gc(s.edgeHeap)] : []),
        ]),
      ));
      if (TRACE_GC) {
        const heapSlope = (pick: (x: (typeof samples)[0]) => number | undefined) => {
          const pts = warm.filter((x) => Number.isFinite(pick(x))).map((x) =>
            [x.cycle, pick(x)! * 1024] as [number, number]
          );
          return pts.length >= 2 ? fit(pts).slope.toFixed(1) : "n/a";
        };
        emit(
          `heap after full GC, slope cycles 40-${CYCLES} (KiB/cycle): cloudcore ${
            heapSlope((x) => x.cloudHeap?.mib)
          }, edgecore ${heapSlope((x) => x.edgeHeap?.mib)}`,
        );
      }
      emit(
        table([
          "process",
          "slope cycles 0-" + CYCLES + " (KiB/cycle)",
          `slope cycles 40-${CYCLES}, after warm-up (KiB/cycle)`,
          "RSS first -> last (MiB)",
        ], [
          [
            "cloudcore",
            slope((s) => s.cloud, samples).toFixed(1),
            slope((s) => s.cloud, warm).toFixed(1),
            `${(samples[0]!.cloud / 1024).toFixed(1)} -> ${(samples.at(-1)!.cloud / 1024).toFixed(1)}`,
          ],
          [
            "edgecore",
            slope((s) => s.edge, samples).toFixed(1),
            slope((s) => s.edge, warm).toFixed(1),
            `${(samples[0]!.edge / 1024).toFixed(1)} -> ${(samples.at(-1)!.edge / 1024).toFixed(1)}`,
          ],
        ]),
      );
      emit(`load average before -> after: ${load0} -> ${load1}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await keepLogs("parts-1-2", [run.path, cp.dir]).catch(() => {});
    kube.close();
    await rt.stop().catch(() => {});
    await run.remove().catch(() => {});
    await cp.stop().catch(() => {});
    log(`parts 1-2 done (load at start ${loadStart}, now ${loadavg()})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// part 3: simulated edges

interface EdgesReport {
  event: "report";
  windowMs: number;
  open: number;
  deliveries: Record<string, number>;
  acks: number;
  sent: Record<string, number>;
  ok: Record<string, number>;
  errors: Record<string, number>;
  errorSamples: string[];
  latencies: Record<string, number[]>;
  inFlight: number;
  disconnects: number;
  bytesIn: number;
  cpuUs: number;
  rss: number;
  loopLagMaxMs: number;
}

/** The audit log's requests in [from, to) (Date ms), unique by auditID, by user and verb. */
async function auditCounts(file: string, from: number, to: number) {
  const text = await Deno.readTextFile(file);
  const seenIds = new Set<string>();
  const byUser = new Map<string, Map<string, number>>();
  const cloudDetail = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: {
      auditID: string;
      verb: string;
      user?: { username?: string };
      userAgent?: string;
      objectRef?: { resource?: string; subresource?: string };
      requestReceivedTimestamp: string;
    };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (seenIds.has(e.auditID)) continue;
    const at = Date.parse(e.requestReceivedTimestamp);
    if (at < from || at >= to) continue;
    seenIds.add(e.auditID);
    let user = e.user?.username ?? "?";
    if (user.startsWith("system:serviceaccount:kube-system:")) {
      user = "kube-controller-manager (service accounts)";
    }
    const m = byUser.get(user) ?? new Map<string, number>();
    byUser.set(user, m);
    m.set(e.verb, (m.get(e.verb) ?? 0) + 1);
    if (user === "kedge-cloudcore") {
      const key = `${e.verb} ${e.objectRef?.resource ?? ""}${
        e.objectRef?.subresource ? "/" + e.objectRef.subresource : ""
      }`;
      cloudDetail.set(key, (cloudDetail.get(key) ?? 0) + 1);
    }
  }
  return { byUser, cloudDetail };
}

async function simulated() {
  const load0 = loadavg();
  const run = await createRunDir("bench-np3");
  const policy = join(run.path, "audit-policy.yaml");
  const auditLog = join(run.path, "audit.log");
  await Deno.writeTextFile(
    policy,
    `apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived"]\nrules:\n- level: Metadata\n`,
  );
  const cp = await startControlPlane({
    controllers: true,
    extraArgs: {
      apiserver: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, "--audit-log-maxsize=0"],
    },
  });
  const kube = new Kube(cp);
  const stops: Array<() => Promise<void>> = [];
  let edges: Deno.ChildProcess | undefined;
  try {
    // cloudcore's own client certificate, so the audit log tells its requests apart.
    const cloudCert = await issueCertificate({
      ca: cp.pki.ca,
      commonName: "kedge-cloudcore",
      organizations: ["system:masters"],
      usages: ["client"],
    });
    const cloudKubeconfig = join(run.path, "cloudcore-kubeconfig");
    await Deno.writeTextFile(
      cloudKubeconfig,
      kubeconfigYaml(cp.server, {
        ...cp.pki,
        adminCertPem: certificateToPem(cloudCert.cert),
        adminKeyPem: await privateKeyToPem(cloudCert.keys!.privateKey),
      }, cp.caPem),
      { mode: 0o600 },
    );
    const cloud = await traced(() =>
      startCloud(run, { ...cp, kubeconfigPath: cloudKubeconfig }, { kubeAPIConfig: QPS })
    );
    stops.push(() => cloud.stop());
    const apiserverPid = findPid(`--cert-dir=${cp.dir}`);
    const etcdPid = findPid(`--data-dir=${join(cp.dir, "etcd")}`);
    log(`cloudcore pid ${cloud.pid} (${comm(cloud.pid)}), apiserver ${apiserverPid}, etcd ${etcdPid}`);

    // Node certificates from the KubeEdge CA that cloudcore keeps in kubeedge/casecret.
    const secret = await kube.json<{ data: Record<string, string> }>(
      "GET",
      "/api/v1/namespaces/kubeedge/secrets/casecret",
    );
    const names = Array.from({ length: NODES }, (_, i) => `sim-${String(i).padStart(3, "0")}`);
    await writeSimEdgeCredentials(secret.data, names, run.path);
    for (
      let i = 0;
      (await kube.raw("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status !== 200;
      i++
    ) {
      if (i > 300) throw new Error("no default ServiceAccount in 60 s");
      await sleep(200);
    }

    // The simulated edges, in their own process.
    edges = new Deno.Command(DENO, {
      args: [
        "run",
        "--frozen",
        "--allow-all",
        join(HERE, "nodes_pods_edges.ts"),
        "--port",
        String(cloud.ports.websocket),
        "--dir",
        run.path,
        "--max-seconds",
        "1200",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    run.record(edges.pid);
    const child = edges;
    stops.push(async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
    });
    const writer = edges.stdin.getWriter();
    const command = (c: string) => writer.write(new TextEncoder().encode(`${c}\n`));
    const events: Array<Record<string, unknown>> = [];
    void (async () => {
      let buffered = "";
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          if (line.startsWith("{")) events.push(JSON.parse(line));
          buffered = buffered.slice(nl + 1);
        }
      }
    })();
    const nextEvent = (name: string, ms: number) =>
      until(name, () => {
        const i = events.findIndex((e) => e.event === name);
        return i >= 0 && events.splice(i, 1)[0];
      }, ms);
    const registered = await nextEvent("registered", 300_000);
    log("edges registered:", JSON.stringify(registered));
    const nodesSeen = await nextEvent("nodesSeen", 60_000);
    log("edges got their Node back:", JSON.stringify(nodesSeen));
    await sleep(3_000);

    // The burst: NODES x PER_NODE pods, created 20 at a time.
    const seen = new Map<string, { created?: number; running?: number }>();
    let runningCount = 0;
    const stopWatch = kube.watchPods("default", (_type, pod, at) => {
      const s = seen.get(pod.metadata.name) ?? {};
      seen.set(pod.metadata.name, s);
      if (pod.status?.phase === "Running" && s.running === undefined) {
        s.running = at;
        runningCount++;
      }
    });
    stops.push(() => Promise.resolve(stopWatch()));
    await sleep(500);
    const total = NODES * PER_NODE;
    const cpuCloud0 = cpuSeconds(cloud.pid);
    const cpuApi0 = apiserverPid ? cpuSeconds(apiserverPid) : NaN;
    const cpuEtcd0 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const totals0 = await kube.requestTotals();
    const rssCloud0 = rssKiB(cloud.pid);
    await command("mark");
    const burstFrom = Date.now();
    const t0 = performance.now();
    const queue = names.flatMap((node) =>
      Array.from(
        { length: PER_NODE },
        (_, j) => ({ node, name: `${node}-pod-${String(j).padStart(2, "0")}` }),
      )
    );
    let next = 0;
    let rssCloudMax = rssCloud0;
    const rssTimer = setInterval(() => rssCloudMax = Math.max(rssCloudMax, rssKiB(cloud.pid)), 500);
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < queue.length) {
        const { node, name } = queue[next++]!;
        const s = seen.get(name) ?? {};
        seen.set(name, s);
        s.created = performance.now();
        await kube.json("POST", "/api/v1/namespaces/default/pods", {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace: "default", labels: { bench: "nodes-pods-sim" } },
          spec: {
            nodeName: node,
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "c", image: "kedge/pause:1", resources: { requests: { cpu: "1m" } } }],
          },
        });
      }
    }));
    const createdAll = performance.now() - t0;
    log(`created ${total} pods in ${(createdAll / 1000).toFixed(1)} s`);
    await until("every pod Running", () => runningCount >= total, 600_000, 50).catch((e) => {
      log(`${(e as Error).message}: ${runningCount}/${total} Running`);
    });
    const allRunning = performance.now() - t0;
    const burstTo = Date.now();
    clearInterval(rssTimer);
    const cpuCloud1 = cpuSeconds(cloud.pid);
    const cpuApi1 = apiserverPid ? cpuSeconds(apiserverPid) : NaN;
    const cpuEtcd1 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const totals1 = await kube.requestTotals();
    const rssCloud1 = rssKiB(cloud.pid);
    await command("report");
    const burstEdges = (await nextEvent("report", 30_000)) as unknown as EdgesReport;
    const load1 = loadavg();
    const latencies = [...seen.values()].filter((s) => s.created && s.running).map((s) =>
      s.running! - s.created!
    );

    // Steady state: everything Running, nodes and leases renewed every 10 s.
    await sleep(15_000);
    const cpuCloud2 = cpuSeconds(cloud.pid);
    const cpuApi2 = apiserverPid ? cpuSeconds(apiserverPid) : NaN;
    const cpuEtcd2 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const totals2 = await kube.requestTotals();
    await command("mark");
    const steadyFrom = Date.now();
    const s0 = performance.now();
    const steadySamples: Array<[number, number, string]> = [[
      0,
      rssKiB(cloud.pid),
      TRACE_GC ? heapAfterGc(cloud.logFile).mib.toFixed(0) : "",
    ]];
    for (let t = 10; t <= STEADY_S; t += 10) {
      await sleep(s0 + t * 1000 - performance.now());
      steadySamples.push([t, rssKiB(cloud.pid), TRACE_GC ? heapAfterGc(cloud.logFile).mib.toFixed(0) : ""]);
    }
    await sleep(s0 + STEADY_S * 1000 - performance.now());
    const steadyS = (performance.now() - s0) / 1000;
    const steadyTo = Date.now();
    const cpuCloud3 = cpuSeconds(cloud.pid);
    const cpuApi3 = apiserverPid ? cpuSeconds(apiserverPid) : NaN;
    const cpuEtcd3 = etcdPid ? cpuSeconds(etcdPid) : NaN;
    const totals3 = await kube.requestTotals();
    const rssCloud3 = rssKiB(cloud.pid);
    await command("report");
    const steadyEdges = (await nextEvent("report", 30_000)) as unknown as EdgesReport;
    const load2 = loadavg();
    await sleep(1500); // the audit log's last lines
    const burstAudit = await auditCounts(auditLog, burstFrom, burstTo);
    const steadyAudit = await auditCounts(auditLog, steadyFrom, steadyTo);

    const burstS = allRunning / 1000;
    const burstTotals = diffTotals(totals0, totals1);
    const steadyTotals = diffTotals(totals2, totals3);
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

    emit(`\nPart 3: ${NODES} simulated edges x ${PER_NODE} pods = ${total} pods against one cloudcore`);
    emit(
      `edges registered in ${
        (Number(registered.ms) / 1000).toFixed(1)
      } s (${registered.ok} ok, ${registered.failed} failed)`,
    );
    emit(table(["", "value"], [
      ["pods created (20 POSTs in flight), s", (createdAll / 1000).toFixed(1)],
      ["first create -> all Running (watch), s", `${burstS.toFixed(1)} (${runningCount}/${total} Running)`],
      [
        "pod created -> Running p50 / p99 / max, ms",
        `${percentile(latencies, 50).toFixed(0)} / ${percentile(latencies, 99).toFixed(0)} / ${
          Math.max(...latencies).toFixed(0)
        }`,
      ],
      ["cloudcore CPU during the burst, % of one core", ((cpuCloud1 - cpuCloud0) / burstS * 100).toFixed(0)],
      ["cloudcore CPU, steady window, % of one core", ((cpuCloud3 - cpuCloud2) / steadyS * 100).toFixed(1)],
      [
        "kube-apiserver CPU burst / steady, % of one core",
        `${((cpuApi1 - cpuApi0) / burstS * 100).toFixed(0)} / ${
          ((cpuApi3 - cpuApi2) / steadyS * 100).toFixed(1)
        }`,
      ],
      [
        "etcd CPU burst / steady, % of one core",
        `${((cpuEtcd1 - cpuEtcd0) / burstS * 100).toFixed(0)} / ${
          ((cpuEtcd3 - cpuEtcd2) / steadyS * 100).toFixed(1)
        }`,
      ],
      [
        "cloudcore RSS before / max in burst / after burst / after steady, MiB",
        `${(rssCloud0 / 1024).toFixed(0)} / ${(rssCloudMax / 1024).toFixed(0)} / ${
          (rssCloud1 / 1024).toFixed(0)
        } / ${(rssCloud3 / 1024).toFixed(0)}`,
      ],
      [
        "simulated edges process CPU burst / steady, % of one core",
        `${(burstEdges.cpuUs / 1e6 / burstS * 100).toFixed(0)} / ${
          (steadyEdges.cpuUs / 1e6 / steadyS * 100).toFixed(1)
        }`,
      ],
      ["load average before -> after burst -> after steady", `${load0} -> ${load1} -> ${load2}`],
    ]));
    const edgeRows = (r: EdgesReport, secs: number) =>
      Object.keys(r.sent).map((k) => [
        k,
        r.sent[k]!,
        (r.sent[k]! / secs).toFixed(1),
        r.ok[k]!,
        r.errors[k]!,
        r.latencies[k]!.length
          ? `${percentile(r.latencies[k]!, 50).toFixed(1)} / ${percentile(r.latencies[k]!, 99).toFixed(1)}`
          : "-",
      ]);
    emit(
      `cloudcore RSS (MiB${
        TRACE_GC ? "; V8 heap after the last full GC, MiB" : ""
      }) every 10 s of the steady window: ${
        steadySamples.map(([t, kib, heap]) => `${t} s ${(kib / 1024).toFixed(0)}${heap ? ` (${heap})` : ""}`)
          .join(", ")
      }; slope ${(fit(steadySamples.map(([t, kib]) => [t, kib])).slope / 1024 * 60).toFixed(1)} MiB/min`,
    );
    emit(
      `\nRequests the simulated edges sent to cloudcore (replies: ok / error; reply latency ms p50 / p99)`,
    );
    emit(`burst (${burstS.toFixed(1)} s):`);
    emit(table(["request", "sent", "/s", "ok", "error", "latency p50 / p99"], edgeRows(burstEdges, burstS)));
    emit(`steady (${steadyS.toFixed(0)} s):`);
    emit(
      table(["request", "sent", "/s", "ok", "error", "latency p50 / p99"], edgeRows(steadyEdges, steadyS)),
    );
    emit(
      `deliveries to the edges, burst: ${JSON.stringify(burstEdges.deliveries)}; steady: ${
        JSON.stringify(steadyEdges.deliveries)
      }; disconnects ${burstEdges.disconnects + steadyEdges.disconnects}`,
    );
    if (burstEdges.errorSamples.length + steadyEdges.errorSamples.length > 0) {
      emit(
        `error replies (samples): ${
          JSON.stringify([...burstEdges.errorSamples, ...steadyEdges.errorSamples])
        }`,
      );
    }

    emit(`\napiserver_request_total (all clients) by verb`);
    const allVerbs = new Set([...byVerb(burstTotals).keys(), ...byVerb(steadyTotals).keys()]);
    const bv = byVerb(burstTotals);
    const sv = byVerb(steadyTotals);
    emit(table(
      [
        "verb",
        `burst (${burstS.toFixed(0)} s) count`,
        "burst /s",
        `steady (${steadyS.toFixed(0)} s) count`,
        "steady /s",
      ],
      [...allVerbs].sort((a, b) => (sv.get(b) ?? 0) - (sv.get(a) ?? 0)).map((v) => [
        v,
        bv.get(v) ?? 0,
        ((bv.get(v) ?? 0) / burstS).toFixed(1),
        sv.get(v) ?? 0,
        ((sv.get(v) ?? 0) / steadyS).toFixed(1),
      ]).concat([[
        "all",
        sum(burstTotals),
        (sum(burstTotals) / burstS).toFixed(1),
        sum(steadyTotals),
        (
          sum(steadyTotals) / steadyS
        ).toFixed(1),
      ]]),
    ));
    emit(`\naudit log: requests by client (kedge-admin is this benchmark: pod creates and its watch)`);
    const users = new Set([...steadyAudit.byUser.keys(), ...burstAudit.byUser.keys()]);
    const userTotal = (a: typeof steadyAudit, u: string) =>
      [...(a.byUser.get(u)?.values() ?? [])].reduce((x, y) => x + y, 0);
    emit(table(
      ["client", "steady count", "steady /s", "steady by verb", "burst count", "burst /s"],
      [...users].sort((a, b) => userTotal(steadyAudit, b) - userTotal(steadyAudit, a)).map((u) => [
        u,
        userTotal(steadyAudit, u),
        (userTotal(steadyAudit, u) / steadyS).toFixed(1),
        [...(steadyAudit.byUser.get(u)?.entries() ?? [])].map(([v, n]) => `${v} ${n}`).join(", "),
        userTotal(burstAudit, u),
        (userTotal(burstAudit, u) / burstS).toFixed(1),
      ]),
    ));
    emit(`\ncloudcore's requests (audit user kedge-cloudcore) by verb and resource`);
    const keys = new Set([...steadyAudit.cloudDetail.keys(), ...burstAudit.cloudDetail.keys()]);
    emit(table(
      ["request", "burst count", "burst /s", "steady count", "steady /s"],
      [...keys].sort((a, b) => (steadyAudit.cloudDetail.get(b) ?? 0) - (steadyAudit.cloudDetail.get(a) ?? 0))
        .map((k) => [
          k,
          burstAudit.cloudDetail.get(k) ?? 0,
          ((burstAudit.cloudDetail.get(k) ?? 0) / burstS).toFixed(1),
          steadyAudit.cloudDetail.get(k) ?? 0,
          ((steadyAudit.cloudDetail.get(k) ?? 0) / steadyS).toFixed(1),
        ]),
    ));
    await command("quit").catch(() => {});
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await keepLogs("part-3", [run.path, cp.dir]).catch(() => {});
    kube.close();
    await cp.stop().catch(() => {});
    if (Deno.env.get("KEDGE_KEEP_BENCH")) log(`kept ${run.path}`);
    else await run.remove().catch(() => {});
  }
}

log(
  `nodes_pods: parts ${
    [...PARTS].join(",")
  }; load ${loadavg()}; ${navigator.hardwareConcurrency} cores; Deno ${Deno.version.deno}`,
);
if (PARTS.has(1) || PARTS.has(2)) await realEdge();
if (PARTS.has(3)) await simulated();
log("done");
