/**
 * The server side of bench/cloudhub.ts, run as its own process so its RSS and CPU are its own.
 *
 *   deno run --frozen --allow-all bench/cloudhub_server.ts --mode hub|echo --dir DIR --edges N [--max-seconds S]
 *
 * `hub`: the real CloudHub (startCloudHub, mTLS, nodeLimit N) whose onMessage answers every request with a
 * `response` carrying the request's content back: decode, validate, route, per-node session, encode.
 * `echo`: a bare TLS WebSocket echo server on the same runtime (node:https with the same mTLS settings and a
 * `ws` WebSocketServer) that writes every frame back as it came.
 *
 * Prints one JSON line `{"port":P}` on stdout once listening. Each stdin line is a command answered with one
 * JSON line: `stats` (RSS, CPU time, connections, frames), `quit` (closes and exits). It exits by itself after
 * --max-seconds (default 900) or when stdin closes.
 */
import https from "node:https";
import process from "node:process";
import { WebSocketServer } from "ws";
import { startCloudHub } from "../cloud/hub/mod.ts";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { responseTo } from "../lib/protocol/mod.ts";

interface Args {
  mode: "hub" | "echo";
  dir: string;
  edges: number;
  maxSeconds: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const mode = get("mode");
  if (mode !== "hub" && mode !== "echo") throw new Error("Cannot start: --mode must be hub or echo");
  const dir = get("dir");
  if (!dir) throw new Error("Cannot start: --dir is required");
  return {
    mode,
    dir,
    edges: Number(get("edges") ?? "1000"),
    maxSeconds: Number(get("max-seconds") ?? "900"),
  };
}

const args = parseArgs(Deno.args);
const caPem = Deno.readTextFileSync(`${args.dir}/ca.pem`);
const certPem = Deno.readTextFileSync(`${args.dir}/server.pem`);
const keyPem = Deno.readTextFileSync(`${args.dir}/server.key`);
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const logFile = Deno.openSync(`${args.dir}/server-${args.mode}.log`, {
  write: true,
  create: true,
  append: true,
});
const encoder = new TextEncoder();
const log = createLogger({
  level: "warn",
  component: "cloudcore",
  write: (line) => logFile.writeSync(encoder.encode(`${line}\n`)),
});

let connections = 0;
/** Frames answered: requests in hub mode, every frame (keepalives too) in echo mode. */
let answered = 0;
let close: () => Promise<void>;
let port: number;

if (args.mode === "hub") {
  const hub = await startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem, certPem, keyPem },
    log,
    registry: new Registry(),
    nodeLimit: Math.max(args.edges, 1),
    maxMessageBytes: MAX_MESSAGE_BYTES,
    onMessage: (_node, message) => {
      answered++;
      return Promise.resolve(responseTo(message, message.content));
    },
    onConnect: () => connections++,
    onDisconnect: () => connections--,
  });
  port = hub.port;
  close = () => hub.close();
} else {
  const server = https.createServer({
    ca: caPem,
    cert: certPem,
    key: keyPem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const wss = new WebSocketServer({ server, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    connections++;
    ws.on("message", (data, isBinary) => {
      answered++;
      ws.send(data, { binary: isBinary });
    });
    ws.on("error", () => {/* counted through close */});
    ws.on("close", () => connections--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  port = typeof address === "object" && address ? address.port : 0;
  close = () =>
    new Promise<void>((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.close(() => resolve());
    });
}

/** Event-loop lag: how late a 100 ms timer fires. Reset by every `stats`. */
const lag = { max: 0, over10: 0 };
let tickAt = performance.now();
const lagTimer = setInterval(() => {
  const now = performance.now();
  const late = now - tickAt - 100;
  tickAt = now;
  if (late > lag.max) lag.max = late;
  if (late > 10) lag.over10++;
}, 100);

function stats(): Record<string, number> {
  const cpu = process.cpuUsage();
  return {
    rss: Deno.memoryUsage().rss,
    heapUsed: Deno.memoryUsage().heapUsed,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    wallMs: performance.now(),
    connections,
    answered,
    loopLagMaxMs: lag.max,
    loopLagOver10Ms: lag.over10,
  };
}

function reply(value: unknown): void {
  Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(value)}\n`));
}

let exiting = false;
async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  clearTimeout(deadline);
  clearInterval(lagTimer);
  // A bounded close: a peer that does not answer does not hold the benchmark up.
  await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  logFile.close();
  Deno.exit(code);
}

const deadline = setTimeout(() => {
  log.error("benchmark server ran past --max-seconds, exiting", { maxSeconds: args.maxSeconds });
  void exit(2);
}, args.maxSeconds * 1000);

reply({ port, mode: args.mode, pid: Deno.pid });

const decoder = new TextDecoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const command = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (command === "stats") {
      reply(stats());
      lag.max = 0;
      lag.over10 = 0;
    } else if (command === "quit") {
      reply({ bye: true });
      await exit(0);
    } else if (command) reply({ error: `unknown command ${command}` });
  }
}
await exit(0);
