/**
 * Simulated edge nodes in one process, for bench/nodes_pods.ts (part 3) and bench/soak.ts: one
 * bench/edge_sim.ts `SimEdge` per entry of DIR/edges.json ([{name, certPem, keyPem}], client certificates
 * from the KubeEdge CA in DIR/ca.pem), each doing on the wire what kedge's edgecore does without running
 * containers (holdings, Node, Lease and status every 10 s, keepalive 15 s, acks, pod status, reconnects).
 *
 *   deno run --frozen --allow-all bench/nodes_pods_edges.ts --port P --dir DIR [--max-seconds S]
 *     [--twin-every S]   (a twin report per held device every S seconds; 0, the default, sends none)
 *
 * Prints JSON lines: `{"event":"registered",...}` once every edge made its first attempt, `{"event":
 * "nodesSeen"}` once every node got its own Node back from the cloud (so the cloud counts it as an edge
 * node). stdin: `mark` (start a window), `report` (the window's counts), `holdings` (what every edge
 * holds: `{"event":"holdings","edges":{name:{objects,devices,twins,open}}}`), `twins-off` / `twins-on`
 * (pause the twin reports), `quit`. Exits by itself after
 * --max-seconds (default 1200) or when stdin closes.
 */
import process from "node:process";
import { SimEdge } from "./edge_sim.ts";
import { KINDS, newCounters } from "./edge_sim_counters.ts";
import type { EdgeCredentials } from "./edge_sim_messages.ts";

const argv = Deno.args;
const get = (name: string, fallback?: string): string => {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`Cannot start: --${name} is required`);
  return value;
};
const port = Number(get("port"));
const dir = get("dir");
const maxSeconds = Number(get("max-seconds", "1200"));
const twinEveryMs = Number(get("twin-every", "0")) * 1000;
const REQUEST_TIMEOUT_MS = 30_000;

const caPem = Deno.readTextFileSync(`${dir}/ca.pem`);
const all = JSON.parse(Deno.readTextFileSync(`${dir}/edges.json`)) as EdgeCredentials[];
const encoder = new TextEncoder();

function print(value: unknown): void {
  const bytes = encoder.encode(`${JSON.stringify(value)}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

let counters = newCounters();
let windowStart = { at: performance.now(), cpu: process.cpuUsage() };
let podIndex = 0;
const started = performance.now();
let seen = 0;
const edges = all.map((creds) =>
  new SimEdge({
    port,
    caPem,
    creds,
    counters: () => counters,
    twinEveryMs,
    nextPodIndex: () => podIndex++,
    onNodeSeen: () => {
      if (++seen === all.length) print({ event: "nodesSeen", ms: Math.round(performance.now() - started) });
    },
  })
);

async function connectAll(): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < edges.length) {
      const edge = edges[next++]!;
      await edge.start().catch((err) =>
        failures.push(`${edge.name}: ${err instanceof Error ? err.message : err}`)
      );
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  print({
    event: "registered",
    ok: edges.length - failures.length,
    failed: failures.length,
    failures: failures.slice(0, 5),
    ms: Math.round(performance.now() - started),
  });
}

// Requests the cloud never answered count as errors after REQUEST_TIMEOUT_MS.
const sweeper = setInterval(() => {
  const cutoff = performance.now() - REQUEST_TIMEOUT_MS;
  for (const edge of edges) edge.sweep(cutoff);
}, 1_000);

const lag = { max: 0 };
let tickAt = performance.now();
const lagTimer = setInterval(() => {
  const now = performance.now();
  lag.max = Math.max(lag.max, now - tickAt - 100);
  tickAt = now;
}, 100);

let exited = false;
function exit(code: number): void {
  if (exited) return;
  exited = true;
  clearTimeout(deadline);
  clearInterval(sweeper);
  clearInterval(lagTimer);
  for (const edge of edges) edge.stop();
  Deno.exit(code);
}
const deadline = setTimeout(() => {
  console.error(`nodes_pods_edges: ran past --max-seconds ${maxSeconds}, exiting`);
  exit(2);
}, maxSeconds * 1000);

void connectAll().catch((err) => {
  console.error(`nodes_pods_edges: ${err instanceof Error ? err.message : err}`);
  exit(1);
});

/** The window's counts; request kinds that saw no traffic are left out. */
function report() {
  const cpu = process.cpuUsage(windowStart.cpu);
  const kinds = KINDS.filter((k) => counters.sent[k] + counters.ok[k] + counters.errors[k] > 0);
  const pick = <T>(r: Record<string, T>) => Object.fromEntries(kinds.map((k) => [k, r[k]]));
  return {
    event: "report",
    windowMs: performance.now() - windowStart.at,
    open: edges.filter((e) => e.open).length,
    deliveries: counters.deliveries,
    acks: counters.acks,
    sent: pick(counters.sent),
    ok: pick(counters.ok),
    errors: pick(counters.errors),
    errorSamples: counters.errorSamples,
    latencies: pick(counters.latencies),
    connects: counters.connects,
    disconnects: counters.disconnects,
    bytesIn: counters.bytesIn,
    cpuUs: cpu.user + cpu.system,
    rss: Deno.memoryUsage().rss,
    loopLagMaxMs: Math.round(lag.max),
  };
}

const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const command = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (command === "mark") {
      counters = newCounters();
      windowStart = { at: performance.now(), cpu: process.cpuUsage() };
      lag.max = 0;
      print({ event: "marked" });
    } else if (command === "report") {
      print(report());
    } else if (command === "holdings") {
      print({
        event: "holdings",
        edges: Object.fromEntries(edges.map((e) => [e.name, { ...e.holdings(), open: e.open }])),
      });
    } else if (command === "twins-off" || command === "twins-on") {
      for (const edge of edges) edge.pauseTwins(command === "twins-off");
      print({ event: command });
    } else if (command === "quit") exit(0);
  }
}
exit(0);
