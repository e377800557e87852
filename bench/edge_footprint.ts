// kedge's edgecore against KubeEdge v1.23.1's edgecore, side by side in one run: figures, not pass/fail.
//
//   KEDGE_CONTROL_PLANE_DIR=$(bash tests/cluster/build.sh) \
//     bin/deno run --frozen --allow-all bench/edge_footprint.ts [--idle-long 300] [--pods 10,40,100]
//     [--devices 100] [--rows idle,pods,devices] [--settle 60] [--window 60] [--only kedge|kubeedge]
//     [--cycles N] [--idle-minutes M]
//
// Each agent joins its own cloud (kedge's cloudcore, KubeEdge's cloudcore) on its own control plane and its
// own containerd (bench/edge_footprint_stacks.ts); the two stacks go through the same phases at the same
// time, so both are measured under the same load of the machine. Per row and agent: memory of the agent
// process and its descendants (RSS, PSS, RssAnon, RssFile), CPU % of one core over a --window s window,
// and for kedge the lowest V8 heap in use in that window (its /metrics, sampled every second: about the
// heap after a GC). Rows: idle --window s after Ready, idle --idle-long s after Ready, then 10, 40 and 100
// pods (all Running, --settle s, then the window), then 100 devices on top, each reporting its twin every
// second. Facts: spawn -> "connected" log line on the first start after joining and on the second start (the
// store warm), size on disk, the bare `deno run` floor. --cycles N: pod create/delete cycles, RSS and
// anonymous slopes per cycle after the first fifth. --idle-minutes M: idle slopes in MiB/hour.
import { kubeEdgeBinaries } from "../tests/kubeedge/cloud.ts";
import { addDevices, addPods, TwinReporter } from "./edge_footprint_load.ts";
import { cycleSlopes, idleSlopes } from "./edge_footprint_long.ts";
import {
  denoFloor,
  executable,
  kedgeInstall,
  kedgeRevision,
  loadavg,
  type MappingShare,
  memory,
  residentByMapping,
  treeCpuSeconds,
} from "./edge_footprint_probe.ts";
import {
  type Fact,
  KEDGE,
  KUBEEDGE,
  mainTable,
  mappingTable,
  type Reading,
  type Row,
  type SlopeLine,
  slopeTable,
} from "./edge_footprint_report.ts";
import { nodeReady, type Stack, startKedgeStack, startKubeEdgeStack } from "./edge_footprint_stacks.ts";

const argv = Deno.args;
const arg = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] ?? fallback : fallback;
};
const IDLE_LONG_S = Number(arg("idle-long", "300"));
const WINDOW_S = Number(arg("window", "60"));
const SETTLE_S = Number(arg("settle", "60"));
const POD_STEPS = arg("pods", "10,40,100").split(",").filter(Boolean).map(Number);
const DEVICES = Number(arg("devices", "100"));
const ROWS = new Set(arg("rows", "idle,pods,devices").split(","));
const ONLY = arg("only", "");
const CYCLES = Number(arg("cycles", "0"));
const IDLE_MINUTES = Number(arg("idle-minutes", "0"));
const POD_TIMEOUT_MS = Number(arg("pod-timeout", "900")) * 1000;
const NODE = "footprint-edge";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...parts: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);

// ---------------------------------------------------------------------------------------------------------
// Everything started is stopped once, at the end, on an error, or on Ctrl-C / SIGTERM.
const cleanups: Array<() => Promise<void>> = [];
let stopping: Promise<void> | undefined;
const stopAll = () =>
  stopping ??= (async () => {
    for (const stop of cleanups.reverse()) await stop().catch((e) => log("stop failed:", errorText(e)));
  })();
const onSignal = () => {
  log("signalled: stopping everything");
  stopAll().finally(() => Deno.exit(130));
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);

// ---------------------------------------------------------------------------------------------------------
const facts: Fact[] = [];
const rows: Row[] = [];
const slopes: SlopeLine[] = [];
const mappings = new Map<string, MappingShare[]>();
const agents: string[] = [];
const loadBefore = loadavg();
const revision = await kedgeRevision();
const bins = ONLY === "kedge" ? { missing: "--only kedge" } : await kubeEdgeBinaries();
const kubeEdgeVersion = "missing" in bins ? `none (${bins.missing})` : bins.dir.split("/").pop()!;

log("the bare runtime floor: deno run of a script that waits");
const floor = await denoFloor(5_000);
const install = await kedgeInstall();

/** Runs `fn` for every live stack at once; a stack that fails is noted in `row` and left out from then on. */
let stacks: Stack[] = [];
async function each<T>(what: string, fn: (s: Stack) => Promise<T>, row?: Row): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  const results = await Promise.allSettled(stacks.map(fn));
  const failed: Stack[] = [];
  results.forEach((r, i) => {
    const s = stacks[i]!;
    if (r.status === "fulfilled") out.set(s.label, r.value);
    else {
      log(`${s.label}: ${what} failed:`, errorText(r.reason));
      row?.notes.set(s.label, `${what} failed: ${errorText(r.reason)}`);
      failed.push(s);
    }
  });
  stacks = stacks.filter((s) => !failed.includes(s));
  return out;
}

/** CPU over the next `seconds`; memory and heap at its end. */
async function measure(row: Row, seconds = WINDOW_S): Promise<void> {
  const cpu0 = new Map(stacks.map((s) => [s.label, treeCpuSeconds(s.agentPid())]));
  const before = await each("heap scrape", async (s) => await s.heap?.());
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const readings = await each("measure", async (s): Promise<Reading> => {
    const heap = await s.heap?.();
    const gc0 = before.get(s.label)?.gcSeconds;
    return {
      memory: memory(s.agentPid()),
      cpuPercent: (treeCpuSeconds(s.agentPid()) - cpu0.get(s.label)!) / elapsed * 100,
      heap,
      gcPercent: heap?.gcSeconds !== undefined && gc0 !== undefined
        ? (heap.gcSeconds - gc0) / elapsed * 100
        : undefined,
      mappings: residentByMapping(s.agentPid()),
    };
  }, row);
  for (const [label, reading] of readings) row.readings.set(label, reading);
  rows.push(row);
  const summary = [...readings].map(([l, r]) => `${l} ${(r.memory.rss / 1024).toFixed(1)} MiB`).join(", ");
  log(`${row.name}: ${summary}`);
}

const newRow = (name: string): Row => ({ name, readings: new Map(), notes: new Map() });

try {
  log(`starting the stacks (KubeEdge: ${kubeEdgeVersion})`);
  const starts: Array<Promise<Stack>> = [];
  if (ONLY !== "kubeedge") starts.push(startKedgeStack(NODE));
  if (!("missing" in bins)) starts.push(startKubeEdgeStack(NODE, bins));
  for (const started of await Promise.allSettled(starts)) {
    if (started.status === "fulfilled") {
      stacks.push(started.value);
      cleanups.push(() => started.value.stop());
    } else log("a stack did not start:", errorText(started.reason));
  }

  log("first start after joining, then the second start (the store warm)");
  const cold = await each("first start", async (s) => {
    const ms = await s.startAgent();
    await nodeReady(s);
    await s.stopAgent();
    return ms;
  });
  await sleep(2_000);
  const warm = await each("second start", async (s) => {
    const ms = await s.startAgent();
    await nodeReady(s);
    return ms;
  });
  const seconds = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, v / 1000]));
  facts.push({ name: "start -> connected, first start (s)", values: seconds(cold), unit: "s" });
  facts.push({ name: "start -> connected, store warm (s)", values: seconds(warm), unit: "s" });
  const readyAt = performance.now();

  if (ROWS.has("idle")) {
    await measure(newRow(`idle, ${WINDOW_S} s after Ready`));
    if (IDLE_LONG_S > WINDOW_S) {
      await sleep(Math.max(0, readyAt + (IDLE_LONG_S - WINDOW_S) * 1000 - performance.now()));
      await measure(newRow(`idle, ${IDLE_LONG_S} s after Ready`));
    }
  }

  let pods = 0;
  if (ROWS.has("pods")) {
    for (const target of POD_STEPS) {
      const row = newRow(`${target} pods`);
      const took = await each(`${target} pods`, (s) => addPods(s, pods, target, POD_TIMEOUT_MS), row);
      for (const [label, ms] of took) {
        row.notes.set(label, `${target - pods} more Running in ${(ms / 1000).toFixed(0)} s`);
      }
      pods = target;
      await sleep(SETTLE_S * 1000);
      await measure(row);
    }
  }

  const reporters: TwinReporter[] = [];
  cleanups.push(async () => {
    for (const r of reporters) await r.stop();
  });
  if (ROWS.has("devices") && DEVICES > 0) {
    const row = newRow(`${pods ? `${pods} pods + ` : ""}${DEVICES} devices, twins every 1 s`);
    await each("devices", (s) => addDevices(s, DEVICES), row);
    await each("twin reporter", async (s) => reporters.push(await TwinReporter.start(s, DEVICES)), row);
    await sleep(SETTLE_S * 1000);
    await measure(row);
    const reported = await each("devices reported", (s) => s.reportedDevices());
    for (const [label, n] of reported) {
      const note = `${n}/${DEVICES} devices with a reported twin in the cloud`;
      row.notes.set(label, row.notes.has(label) ? `${row.notes.get(label)}; ${note}` : note);
    }
  }
  for (const r of reporters) await r.stop();
  reporters.length = 0;

  if (CYCLES > 0) {
    log(`${CYCLES} pod create/delete cycles`);
    slopes.push(...(await each("cycles", (s) => cycleSlopes(s, CYCLES))).values());
  }
  if (IDLE_MINUTES > 0) {
    log(`${IDLE_MINUTES} idle minutes`);
    slopes.push(...(await each("idle minutes", (s) => idleSlopes(s, IDLE_MINUTES))).values());
  }
  for (const s of stacks) {
    mappings.set(s.label, residentByMapping(s.agentPid()));
    agents.push(`${s.label}: pid ${s.agentPid()}, ${executable(s.agentPid())}`);
  }
} finally {
  await stopAll();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(signal, onSignal);
}

// ---------------------------------------------------------------------------------------------------------
const MiB = 1048576;
facts.push({
  name: "on disk: agent binary / kedge source + npm deps + deno (MiB)",
  values: new Map<string, number | string>([
    [KEDGE, (install.sourceBytes + install.npmBytes + install.denoBytes) / MiB],
    ...("missing" in bins ? [] : [[KUBEEDGE, Deno.statSync(bins.edgecore).size / MiB] as [string, number]]),
  ]),
  unit: "MiB",
});
const floorRow = newRow("bare runtime floor: `deno run` of a script that waits");
floorRow.readings.set(KEDGE, { memory: floor, cpuPercent: floor.cpuPercent });
rows.push(floorRow);

console.log(`\n${mainTable(rows, facts)}\n`);
console.log(
  `kedge on disk: ${install.sourceModules} own modules ${(install.sourceBytes / 1024).toFixed(0)} KiB, ` +
    `${install.npmPackages} npm packages ${
      (install.npmBytes / MiB).toFixed(1)
    } MiB (unpacked in Deno's cache), ` +
    `deno ${(install.denoBytes / MiB).toFixed(1)} MiB; dist/edgecore: ${
      Deno.env.get("DENORT_BIN") ? "see make build" : "not built (no DENORT_BIN: deno compile needs denort)"
    }.`,
);
if (slopes.length) console.log(`\n${slopeTable(slopes)}`);
if (mappings.size) {
  console.log(`\nResident memory by mapping, at the end of the run:\n\n${mappingTable(mappings)}`);
  console.log(`\nAgents measured: ${agents.join("; ")}.`);
}
console.log(
  `\nMachine: ${navigator.hardwareConcurrency} cores, ${Deno.osRelease()}, Deno ${Deno.version.deno}, kedge ${revision}, ` +
    `KubeEdge ${kubeEdgeVersion}; load average before ${loadBefore} -> after ${loadavg()}. ` +
    `Flags: ${argv.join(" ") || "(defaults)"}.`,
);
