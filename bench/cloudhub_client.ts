/**
 * Simulated edges for bench/cloudhub.ts: one process holding edges [from, to) of the certificates in
 * DIR/edges.json, each a `ws` client with its own client certificate, like upstream edgehub (dialled and
 * paced by the helpers of bench/edge_sim_messages.ts, as the simulated edges of bench/edge_sim.ts).
 *
 *   deno run --frozen --allow-all bench/cloudhub_client.ts --port P --dir DIR --from A --to B \
 *     [--rate CONNECTS_PER_S] [--concurrency C] [--max-seconds S] [--request-every-ms MS]
 *
 * Edges are dialled at most --rate per second with at most --concurrency handshakes in flight (each edge gets
 * up to 3 attempts). Once open, an edge sends the KubeEdge keepalive every 15 s and one request a second (or
 * every --request-every-ms), both
 * at a random phase, and times each request until the frame naming it comes back (parent_msg_id for the hub's
 * response, msg_id for the echo). Prints `{"event":"connected",...}` when every edge has been tried; stdin
 * commands `mark` (start the measured window), `report` (print the window's figures) and `quit`. Exits by
 * itself after --max-seconds (default 900) or when stdin closes.
 */
import process from "node:process";
import { WebSocket } from "ws";
import { encode, keepaliveMessage, type Message, newMessage } from "../lib/protocol/mod.ts";
import { dialEdge, everyWhileOpen } from "./edge_sim_messages.ts";

interface Credentials {
  readonly certPem: string;
  readonly keyPem: string;
}

const argv = Deno.args;
const get = (name: string, fallback?: string): string => {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? argv[at + 1] : fallback;
  if (value === undefined) throw new Error(`Cannot start: --${name} is required`);
  return value;
};
const port = Number(get("port"));
const dir = get("dir");
const from = Number(get("from"));
const to = Number(get("to"));
const rate = Number(get("rate", "200"));
const concurrency = Number(get("concurrency", "32"));
const maxSeconds = Number(get("max-seconds", "900"));
/** 1 s by default (a stress rate); 5000 is KubeEdge's realistic rate: a Lease and a node status per 10 s. */
const REQUEST_EVERY_MS = Number(get("request-every-ms", "1000"));
const KEEPALIVE_EVERY_MS = 15_000;
const ATTEMPTS = 3;
/** A request unanswered this long counts as lost. */
const LOST_AFTER_MS = 10_000;

const caPem = Deno.readTextFileSync(`${dir}/ca.pem`);
const all = JSON.parse(Deno.readTextFileSync(`${dir}/edges.json`)) as Credentials[];
const encoder = new TextEncoder();

function print(value: unknown): void {
  const bytes = encoder.encode(`${JSON.stringify(value)}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

/** msg_id -> send time, for requests in flight. */
const pending = new Map<string, number>();
const sockets = new Set<WebSocket>();
let measuring = false;
let stopping = false;
const win = newWindow();

function newWindow() {
  return {
    startedAt: 0,
    cpu: process.cpuUsage(),
    sent: 0,
    received: 0,
    errors: 0,
    lost: 0,
    disconnects: 0,
    latencies: [] as number[],
  };
}

/** A request: a small Lease-like object (about 450 bytes on the wire), the content the hub sends back. */
function request(node: string, seq: number): Message {
  return newMessage({
    source: "edged",
    group: "resource",
    operation: "update",
    resource: `kube-node-lease/lease/${node}`,
    content: {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: node, namespace: "kube-node-lease" },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: new Date().toISOString(), seq },
    },
  });
}

function onReply(data: unknown): void {
  let id: string | undefined;
  let operation: string | undefined;
  try {
    const message = JSON.parse(String(data)) as {
      header?: { msg_id?: string; parent_msg_id?: string };
      route?: { operation?: string };
    };
    id = message.header?.parent_msg_id ?? message.header?.msg_id;
    operation = message.route?.operation;
  } catch {
    return;
  }
  if (id === undefined) return;
  const sentAt = pending.get(id);
  if (sentAt === undefined) return; // a keepalive echoed back, or a reply already counted as lost
  pending.delete(id);
  if (!measuring) return;
  if (operation === "error") {
    win.errors++;
    return;
  }
  win.received++;
  win.latencies.push(Math.round((performance.now() - sentAt) * 100) / 100);
}

function run(index: number, ws: WebSocket): void {
  const node = `edge-${index}`;
  let seq = 0;
  const sendRequest = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const message = request(node, seq++);
    const frame = encode(message);
    pending.set(message.header.msg_id, performance.now());
    if (measuring) win.sent++;
    ws.send(frame);
  };
  const sendKeepalive = () => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encode(keepaliveMessage()));
  };
  everyWhileOpen(ws, REQUEST_EVERY_MS, sendRequest);
  everyWhileOpen(ws, KEEPALIVE_EVERY_MS, sendKeepalive);
}

async function dial(index: number, creds: Credentials): Promise<WebSocket> {
  const ws = await dialEdge(port, caPem, `edge-${index}`, creds);
  ws.on("message", onReply);
  sockets.add(ws);
  ws.once("close", () => {
    sockets.delete(ws);
    if (measuring && !stopping) win.disconnects++;
  });
  return ws;
}

async function connectAll(): Promise<void> {
  const started = performance.now();
  const failures = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  let next = from;
  const gapMs = 1000 / rate;
  let slotAt = performance.now();
  const worker = async () => {
    while (next < to && !stopping) {
      const index = next++;
      const creds = all[index];
      if (!creds) throw new Error(`Cannot dial edge-${index}: no certificate in ${dir}/edges.json`);
      let lastError = "";
      let connected = false;
      for (let attempt = 0; attempt < ATTEMPTS && !connected && !stopping; attempt++) {
        // One global pace across the workers: each dial takes the next slot.
        const wait = slotAt - performance.now();
        slotAt = Math.max(slotAt, performance.now()) + gapMs;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          const ws = await dial(index, creds);
          run(index, ws);
          connected = true;
        } catch (err) {
          lastError = err instanceof Error ? err.message : String(err);
        }
      }
      if (connected) ok++;
      else {
        failed++;
        failures.set(lastError, (failures.get(lastError) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  print({
    event: "connected",
    ok,
    failed,
    failures: Object.fromEntries(failures),
    connectMs: Math.round(performance.now() - started),
  });
}

const sweeper = setInterval(() => {
  const cutoff = performance.now() - LOST_AFTER_MS;
  for (const [id, at] of pending) {
    if (at >= cutoff) break; // insertion order is send order
    pending.delete(id);
    if (measuring) win.lost++;
  }
}, 1_000);

/** Event-loop lag of this process: a late client inflates the latency it reports. */
const lag = { max: 0, over10: 0 };
let tickAt = performance.now();
const lagTimer = setInterval(() => {
  const now = performance.now();
  const late = now - tickAt - 100;
  tickAt = now;
  if (measuring) {
    if (late > lag.max) lag.max = late;
    if (late > 10) lag.over10++;
  }
}, 100);

let exited = false;
function exit(code: number): void {
  if (exited) return;
  exited = true;
  stopping = true;
  clearTimeout(deadline);
  clearInterval(sweeper);
  clearInterval(lagTimer);
  for (const ws of sockets) ws.terminate();
  Deno.exit(code);
}
const deadline = setTimeout(() => {
  console.error(`cloudhub_client: ran past --max-seconds ${maxSeconds}, exiting`);
  exit(2);
}, maxSeconds * 1000);

void connectAll().catch((err) => {
  console.error(`cloudhub_client: ${err instanceof Error ? err.message : err}`);
  exit(1);
});

const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const command = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (command === "mark") {
      Object.assign(win, newWindow(), { startedAt: performance.now() });
      lag.max = 0;
      lag.over10 = 0;
      measuring = true;
      print({ event: "marked" });
    } else if (command === "report") {
      measuring = false;
      const cpu = process.cpuUsage(win.cpu);
      print({
        event: "report",
        windowMs: performance.now() - win.startedAt,
        open: sockets.size,
        sent: win.sent,
        received: win.received,
        errors: win.errors,
        lost: win.lost,
        inFlight: pending.size,
        disconnects: win.disconnects,
        cpuUs: cpu.user + cpu.system,
        rss: Deno.memoryUsage().rss,
        loopLagMaxMs: Math.round(lag.max),
        loopLagOver10Ms: lag.over10,
        latencies: win.latencies,
      });
    } else if (command === "quit") exit(0);
  }
}
exit(0);
