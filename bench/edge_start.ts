// How long edgecore takes from spawn to connected, with the store warm, and what it spends in the first
// minute after Ready: figures, not pass/fail.
//
//   KEDGE_CONTROL_PLANE_DIR=$(bash tests/cluster/build.sh) \
//     bin/deno run --frozen --allow-all bench/edge_start.ts [--starts 5] [--window 60] [--only kedge|kubeedge]
//     [--timeline] [--ab NAME=VALUE]
//
// The stacks of bench/edge_footprint.ts (own control plane, containerd, cloud; the agent joined), then the
// first start after joining, then --starts warm starts one after the other: each is timed from the process's
// start (/proc/PID/stat) to its log line saying it connected (kedge: "connected to cloudcore", KubeEdge:
// "Websocket connect to cloud access successful"), the node is waited Ready, and the agent's CPU (process tree,
// utime+stime) is read over the --window s after Ready, then it is stopped. Medians over the warm starts; the
// load average before and after, since other work on the machine stretches both figures. --timeline prints
// kedge's log lines of its last start with their ms since the process started (at debug level with
// KEDGE_TEST_LOG_LEVEL=debug). --ab NAME=VALUE: every other warm start runs with that environment variable set
// (the agent inherits the bench's environment; e.g. a flag the code under test reads), figures for each arm
// apart: A/B in one run, under the same load, rather than two runs at different times.
import { loadavg, memory, treeCpuSeconds } from "./edge_footprint_probe.ts";
import {
  nodeReady,
  type Stack,
  startedAt,
  startKedgeStack,
  startKubeEdgeStack,
} from "./edge_footprint_stacks.ts";
import { kubeEdgeBinaries } from "../tests/kubeedge/cloud.ts";

const argv = Deno.args;
const arg = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] ?? fallback : fallback;
};
const STARTS = Number(arg("starts", "5"));
const WINDOW_S = Number(arg("window", "60"));
const ONLY = arg("only", "kedge");
const TIMELINE = argv.includes("--timeline");
const AB = arg("ab", "");
const NODE = "start-edge";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...parts: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Start {
  /** "A", or "B" when the --ab variable was set for this start. */
  arm: "A" | "B";
  connectedMs: number;
  /** Wall-clock ms at which the process started. */
  startedAt: number;
  /** CPU seconds of the agent from its start until the connected line was seen (polled every 100 ms). */
  cpuToConnected: number;
  /** % of one core over the window after Ready. */
  idleCpu?: number;
  /** Anonymous memory (RssAnon, MiB) at the end of the window. */
  anonMiB?: number;
  /** The same by thread name (V8's main thread is the process's own name), % of one core. */
  threads?: Map<string, number>;
  load: string;
}

async function once(s: Stack, window: number, arm: "A" | "B" = "A"): Promise<Start> {
  const load = loadavg();
  const connectedMs = await s.startAgent();
  const started = startedAt(s.agentPid());
  const cpuToConnected = treeCpuSeconds(s.agentPid());
  await nodeReady(s);
  let idleCpu: number | undefined;
  let threads: Map<string, number> | undefined;
  let anonMiB: number | undefined;
  if (window > 0) {
    const cpu0 = treeCpuSeconds(s.agentPid());
    const threads0 = threadCpuSeconds(s.agentPid());
    const t0 = performance.now();
    await sleep(window * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    idleCpu = (treeCpuSeconds(s.agentPid()) - cpu0) / elapsed * 100;
    anonMiB = memory(s.agentPid()).anon / 1024;
    threads = new Map();
    for (const [name, seconds] of threadCpuSeconds(s.agentPid())) {
      const percent = (seconds - (threads0.get(name) ?? 0)) / elapsed * 100;
      if (percent > 0) threads.set(name, percent);
    }
  }
  return { arm, connectedMs, startedAt: started, cpuToConnected, idleCpu, threads, anonMiB, load };
}

/** utime+stime of a process's threads, summed by thread name (/proc/PID/task/TID/stat). */
function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/stat`);
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* gone */ }
  }
  return out;
}

function summary(label: string, starts: Start[]): string[] {
  const lines: string[] = [];
  const names = new Set(starts.flatMap((x) => [...x.threads?.keys() ?? []]));
  if (names.size) {
    lines.push(
      `${label}: CPU after Ready by thread, median % of a core: ` +
        [...names].map((name) => `${name} ${median(starts.map((x) => x.threads?.get(name) ?? 0)).toFixed(2)}`)
          .join(", "),
    );
  }
  const idle = starts.flatMap((x) => x.idleCpu === undefined ? [] : [x.idleCpu]);
  const anon = starts.flatMap((x) => x.anonMiB === undefined ? [] : [x.anonMiB]);
  lines.push(
    `${label}: ${starts.length} warm starts: start -> connected median ${
      (median(starts.map((x) => x.connectedMs)) / 1000).toFixed(2)
    } s (${starts.map((x) => (x.connectedMs / 1000).toFixed(2)).join(", ")}); CPU to connected median ${
      median(starts.map((x) => x.cpuToConnected)).toFixed(2)
    } s` +
      (idle.length
        ? `; CPU over ${WINDOW_S} s after Ready median ${median(idle).toFixed(2)} % (${
          idle.map((x) => x.toFixed(2)).join(", ")
        }); anonymous memory then median ${median(anon).toFixed(1)} MiB`
        : ""),
  );
  return lines;
}

/** kedge's log lines from byte `offset` on up to `untilMs`, each with its ms after the process started. */
function timeline(file: string, offset: number, start: Start, untilMs: number): string[] {
  const text = new TextDecoder().decode(Deno.readFileSync(file).slice(offset));
  return text.split("\n").filter((l) => l.startsWith("{")).flatMap((l) => {
    const { time, msg, module } = JSON.parse(l);
    const ms = Date.parse(time) - start.startedAt;
    return ms > untilMs ? [] : [`${String(ms).padStart(6)} ms  ${module ?? ""} ${msg}`];
  });
}

const stacks: Stack[] = [];
const onSignal = async () => {
  for (const s of stacks) await s.stop().catch(() => {});
  Deno.exit(130);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);

try {
  const loadBefore = loadavg();
  if (ONLY !== "kubeedge") stacks.push(await startKedgeStack(NODE));
  if (ONLY !== "kedge") {
    const bins = await kubeEdgeBinaries();
    if ("missing" in bins) log("KubeEdge left out:", bins.missing);
    else stacks.push(await startKubeEdgeStack(NODE, bins));
  }
  for (const s of stacks) {
    log(`${s.label}: first start after joining`);
    const first = await once(s, 0);
    log(`${s.label}: first start, connected after ${first.connectedMs} ms`);
    await s.stopAgent();
    const starts: Start[] = [];
    let offset = 0;
    for (let i = 0; i < STARTS; i++) {
      await sleep(2_000);
      offset = Deno.statSync(s.agentLog).size;
      const arm = AB && i % 2 === 1 ? "B" : "A";
      if (arm === "B") Deno.env.set(AB.split("=")[0]!, AB.slice(AB.indexOf("=") + 1));
      const start = await once(s, WINDOW_S, arm).finally(() => AB && Deno.env.delete(AB.split("=")[0]!));
      starts.push(start);
      log(
        `${s.label}: warm start ${i + 1}${AB ? ` (${arm})` : ""}: connected after ${start.connectedMs} ms, ` +
          `${start.cpuToConnected.toFixed(2)} s CPU by then, ` +
          (start.idleCpu === undefined
            ? ""
            : `${start.idleCpu.toFixed(2)} % of a core ${WINDOW_S} s after Ready, ${
              start.anonMiB!.toFixed(1)
            } MiB anonymous, `) +
          `load ${start.load}`,
      );
      if (i < STARTS - 1) await s.stopAgent();
    }
    if (TIMELINE && s.label === "kedge") {
      const last = starts.at(-1)!;
      console.log(timeline(s.agentLog, offset, last, last.connectedMs + 1000).join("\n"));
    }
    if (AB) {
      console.log(summary(`${s.label} A (without ${AB})`, starts.filter((x) => x.arm === "A")).join("\n"));
      console.log(summary(`${s.label} B (with ${AB})`, starts.filter((x) => x.arm === "B")).join("\n"));
    } else console.log(summary(s.label, starts).join("\n"));
    await s.stopAgent();
  }
  console.log(`load average before ${loadBefore}, after ${loadavg()}`);
} finally {
  for (const s of stacks) await s.stop().catch((e) => log("stop failed:", e));
}
