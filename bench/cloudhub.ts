/**
 * Benchmark for the secure cloud-edge channel: N simulated edges against one CloudHub, then the same load
 * against a bare TLS WebSocket echo server on the same runtime; figures and ratios, not pass/fail.
 *
 *   bin/deno run --frozen --allow-all bench/cloudhub.ts [--edges 1000] [--seconds 30] [--warmup 10]
 *     [--rate 250] [--clients 2] [--rounds 1] [--cert-dir DIR] [--only hub|echo] [--profile DIR]
 *     [--request-every-ms 1000]
 *
 * Each edge has its own client certificate (CN=system:node:edge-<i>, O=system:nodes, clientAuth) from one
 * test CA, made once per run in a temp dir (or reused from --cert-dir). The server runs in its own process
 * (bench/cloudhub_server.ts); the edges are spread over --clients processes (bench/cloudhub_client.ts),
 * dialled at --rate per second in total. Every open edge sends a keepalive every 15 s and one request a second
 * (random phases) and times the request until its reply. After --warmup seconds the figures are taken over a
 * window of --seconds: edges connected, replies per second, p50/p99 request->reply latency, server RSS at the
 * end of the window and server CPU over it. With --rounds R the two servers take turns R times (hub, echo,
 * hub, ...) so that other load on the machine falls on both alike; each figure is the median over the rounds.
 * --request-every-ms 5000 gives KubeEdge's realistic rate (a Lease and a node status every 10 s per edge).
 * --profile DIR writes a V8 CPU profile of each server process (with a Markdown summary) into DIR.
 * Loopback only; every child process also exits by itself.
 */
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";

interface Options {
  edges: number;
  seconds: number;
  warmup: number;
  rate: number;
  clients: number;
  certDir?: string;
  only?: "hub" | "echo";
  profile?: string;
  rounds: number;
  requestEveryMs: number;
}

function parseOptions(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const num = (name: string, fallback: number): number => {
    const text = get(name);
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`Cannot run: --${name} must be positive`);
    return value;
  };
  const only = get("only");
  if (only !== undefined && only !== "hub" && only !== "echo") {
    throw new RangeError("Cannot run: --only must be hub or echo");
  }
  return {
    edges: Math.floor(num("edges", 1000)),
    seconds: num("seconds", 30),
    warmup: num("warmup", 10),
    rate: num("rate", 250),
    clients: Math.floor(num("clients", 2)),
    certDir: get("cert-dir"),
    only,
    profile: get("profile"),
    rounds: Math.floor(num("rounds", 1)),
    requestEveryMs: Math.floor(num("request-every-ms", 1000)),
  };
}

const DENO = Deno.execPath();
const HERE = new URL(".", import.meta.url).pathname;
const encoder = new TextEncoder();

function say(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`${text}\n`));
}

/** Makes (or reuses) the CA, the server certificate and at least `edges` client certificates in `dir`. */
async function ensurePki(dir: string, edges: number): Promise<void> {
  let have: Array<{ certPem: string; keyPem: string }> = [];
  try {
    have = JSON.parse(await Deno.readTextFile(`${dir}/edges.json`));
    await Deno.stat(`${dir}/ca-key.pem`);
  } catch {
    have = [];
  }
  if (have.length >= edges) return;
  // Fewer edges than needed (or none): start over with a new CA, simpler than re-importing the old key.
  have = [];
  const started = performance.now();
  const ca = await createCa({ commonName: "KubeEdge" });
  const server = await issueCertificate({
    ca,
    commonName: "cloudcore",
    usages: ["server"],
    ipAddresses: ["127.0.0.1"],
  });
  await Deno.writeTextFile(`${dir}/ca.pem`, certificateToPem(ca.cert));
  await Deno.writeTextFile(`${dir}/ca-key.pem`, await privateKeyToPem(ca.keys.privateKey));
  await Deno.writeTextFile(`${dir}/server.pem`, certificateToPem(server.cert));
  await Deno.writeTextFile(`${dir}/server.key`, await privateKeyToPem(server.keys!.privateKey));
  for (let i = 0; i < edges; i++) {
    const leaf = await issueCertificate({
      ca,
      commonName: `system:node:edge-${i}`,
      organizations: ["system:nodes"],
      usages: ["client"],
    });
    have.push({ certPem: certificateToPem(leaf.cert), keyPem: await privateKeyToPem(leaf.keys!.privateKey) });
    if ((i + 1) % 2000 === 0) say(`  certificates: ${i + 1}/${edges}`);
  }
  await Deno.writeTextFile(`${dir}/edges.json`, JSON.stringify(have));
  say(
    `  made a CA and ${edges} client certificates in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** A child process spoken to in JSON lines: one command in, one (or more) JSON lines out. */
class Child {
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: unknown[] = [];
  readonly #waiters: Array<() => void> = [];
  readonly exited: Promise<Deno.CommandStatus>;
  #ended = false;

  constructor(readonly name: string, args: string[], stderrPath: string) {
    this.#process = new Deno.Command(DENO, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.exited = this.#process.status;
    void this.#read();
    void this.#process.stderr.pipeTo(
      Deno.openSync(stderrPath, { write: true, create: true, append: true }).writable,
    ).catch(() => {});
  }

  get pid(): number {
    return this.#process.pid;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.#process.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.trim()) continue;
        try {
          this.#lines.push(JSON.parse(line));
        } catch {
          say(`  ${this.name}: ${line}`);
        }
        this.#wake();
      }
    }
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async send(command: string): Promise<void> {
    await this.#writer.write(encoder.encode(`${command}\n`));
  }

  /** The next JSON line matching `match`, or throws after `timeoutMs` or when the child is gone. */
  async next<T>(match: (value: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = this.#lines.findIndex((l) => match(l as Record<string, unknown>));
      if (at >= 0) return this.#lines.splice(at, 1)[0] as T;
      if (this.#ended) throw new Error(`Cannot read from ${this.name}: it exited`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`Cannot read from ${this.name}: nothing within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Asks the child to quit; kills it (by its pid, through the handle) when it has not exited in time. */
  async stop(timeoutMs = 10_000): Promise<void> {
    try {
      await this.send("quit");
      await this.#writer.close();
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        this.#process.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

interface ServerStats {
  rss: number;
  heapUsed: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  wallMs: number;
  connections: number;
  answered: number;
  loopLagMaxMs: number;
  loopLagOver10Ms: number;
}

interface ClientReport {
  windowMs: number;
  open: number;
  sent: number;
  received: number;
  errors: number;
  lost: number;
  inFlight: number;
  disconnects: number;
  cpuUs: number;
  rss: number;
  loopLagMaxMs: number;
  loopLagOver10Ms: number;
  latencies: number[];
}

interface Connected {
  ok: number;
  failed: number;
  failures: Record<string, number>;
  connectMs: number;
}

export interface Result {
  mode: "hub" | "echo";
  edges: number;
  connected: number;
  connectSeconds: number;
  failures: Record<string, number>;
  windowSeconds: number;
  sentPerSecond: number;
  repliesPerSecond: number;
  errors: number;
  lost: number;
  disconnects: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverRssMiB: number;
  serverHeapMiB: number;
  serverCpuPercent: number;
  serverCpuUsPerReply: number;
  serverLoopLagMaxMs: number;
  clientCpuPercent: number;
  clientLoopLagMaxMs: number;
  loadBefore: string;
  loadAfter: string;
}

function loadAverage(): string {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[at]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runOne(mode: "hub" | "echo", o: Options, dir: string): Promise<Result> {
  const connectBudgetS = Math.ceil(o.edges / o.rate) * 3 + 90;
  const maxSeconds = connectBudgetS + o.warmup + o.seconds + 120;
  const loadBefore = loadAverage();
  const serverArgs = ["run", "--frozen", "--allow-all"];
  if (o.profile) {
    await Deno.mkdir(o.profile, { recursive: true });
    serverArgs.push(
      `--cpu-prof-dir=${o.profile}`,
      `--cpu-prof-name=${mode}-${o.edges}.cpuprofile`,
      "--cpu-prof-md",
    );
  }
  serverArgs.push(
    `${HERE}cloudhub_server.ts`,
    "--mode",
    mode,
    "--dir",
    dir,
    "--edges",
    String(o.edges),
    "--max-seconds",
    String(maxSeconds),
  );
  const server = new Child(`${mode} server`, serverArgs, `${dir}/server-${mode}.stderr`);
  const clients: Child[] = [];
  try {
    const { port } = await server.next<{ port: number }>((l) => "port" in l, 60_000);
    say(`  ${mode}: listening on 127.0.0.1:${port} (pid ${server.pid}); dialling ${o.edges} edges`);
    const per = Math.ceil(o.edges / o.clients);
    for (let c = 0; c < o.clients; c++) {
      const from = c * per;
      const to = Math.min(o.edges, from + per);
      if (from >= to) break;
      clients.push(
        new Child(`client ${c}`, [
          "run",
          "--frozen",
          "--allow-all",
          `${HERE}cloudhub_client.ts`,
          "--port",
          String(port),
          "--dir",
          dir,
          "--from",
          String(from),
          "--to",
          String(to),
          "--rate",
          String(o.rate / o.clients),
          "--max-seconds",
          String(maxSeconds),
          "--request-every-ms",
          String(o.requestEveryMs),
        ], `${dir}/client-${mode}-${c}.stderr`),
      );
    }
    const connected = await Promise.all(
      clients.map((c) => c.next<Connected>((l) => l.event === "connected", connectBudgetS * 1000)),
    );
    const ok = connected.reduce((n, c) => n + c.ok, 0);
    const connectSeconds = Math.max(...connected.map((c) => c.connectMs)) / 1000;
    const failures: Record<string, number> = {};
    for (const c of connected) {
      for (const [why, n] of Object.entries(c.failures)) failures[why] = (failures[why] ?? 0) + n;
    }
    say(`  ${mode}: ${ok}/${o.edges} connected in ${connectSeconds.toFixed(1)} s; warming up ${o.warmup} s`);
    await sleep(o.warmup * 1000);

    await server.send("stats");
    const before = await server.next<ServerStats>((l) => "rss" in l, 30_000);
    await Promise.all(clients.map((c) => c.send("mark")));
    await Promise.all(clients.map((c) => c.next((l) => l.event === "marked", 30_000)));
    say(`  ${mode}: measuring ${o.seconds} s`);
    await sleep(o.seconds * 1000);
    await Promise.all(clients.map((c) => c.send("report")));
    await server.send("stats");
    const reports = await Promise.all(
      clients.map((c) => c.next<ClientReport>((l) => l.event === "report", 60_000)),
    );
    const after = await server.next<ServerStats>((l) => "rss" in l, 30_000);

    const windowMs = after.wallMs - before.wallMs;
    const count = reports.reduce((n, r) => n + r.latencies.length, 0);
    const all = new Float64Array(count);
    let at = 0;
    for (const r of reports) {
      all.set(r.latencies, at);
      at += r.latencies.length;
    }
    all.sort();
    const sum = (f: (r: ClientReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    const clientWindowS = Math.max(...reports.map((r) => r.windowMs)) / 1000;
    const serverCpuUs = (after.cpuUserUs + after.cpuSystemUs) - (before.cpuUserUs + before.cpuSystemUs);
    const received = sum((r) => r.received);
    return {
      mode,
      edges: o.edges,
      connected: Math.min(ok, sum((r) => r.open)),
      connectSeconds,
      failures,
      windowSeconds: clientWindowS,
      sentPerSecond: sum((r) => r.sent) / clientWindowS,
      repliesPerSecond: received / clientWindowS,
      errors: sum((r) => r.errors),
      lost: sum((r) => r.lost),
      disconnects: sum((r) => r.disconnects),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      maxMs: percentile(all, 100),
      serverRssMiB: after.rss / 2 ** 20,
      serverHeapMiB: after.heapUsed / 2 ** 20,
      serverCpuPercent: serverCpuUs / 1000 / windowMs * 100,
      serverCpuUsPerReply: received > 0 ? serverCpuUs / received : NaN,
      serverLoopLagMaxMs: after.loopLagMaxMs,
      clientCpuPercent: sum((r) => r.cpuUs) / 1000 / (clientWindowS * 1000) * 100,
      clientLoopLagMaxMs: Math.max(...reports.map((r) => r.loopLagMaxMs)),
      loadBefore,
      loadAfter: loadAverage(),
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

/** Each numeric figure's median over the rounds; the load is first round's before, last round's after. */
function median(list: Result[]): Result {
  const first = list[0]!;
  const out: Record<string, unknown> = { ...first, loadAfter: list[list.length - 1]!.loadAfter };
  for (const [key, value] of Object.entries(first)) {
    if (typeof value !== "number") continue;
    const sorted = list.map((r) => r[key as keyof Result] as number).sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    out[key] = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
  if (list.length > 1) out.connected = Math.min(...list.map((r) => r.connected));
  return out as unknown as Result;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

export function table(results: Result[]): string {
  const hub = results.find((r) => r.mode === "hub");
  const echo = results.find((r) => r.mode === "echo");
  const rows: Array<[string, (r: Result) => string, ((h: Result, e: Result) => string) | undefined]> = [
    ["edges connected", (r) => `${r.connected} / ${r.edges}`, (h, e) => fmt(h.connected / e.connected, 2)],
    [
      "connect phase (s)",
      (r) => fmt(r.connectSeconds),
      (h, e) => fmt(h.connectSeconds / e.connectSeconds, 2),
    ],
    ["requests sent /s", (r) => fmt(r.sentPerSecond, 0), (h, e) => fmt(h.sentPerSecond / e.sentPerSecond, 2)],
    [
      "replies received /s",
      (r) => fmt(r.repliesPerSecond, 0),
      (h, e) => fmt(h.repliesPerSecond / e.repliesPerSecond, 2),
    ],
    ["p50 latency (ms)", (r) => fmt(r.p50Ms, 2), (h, e) => fmt(h.p50Ms / e.p50Ms, 2)],
    ["p99 latency (ms)", (r) => fmt(r.p99Ms, 2), (h, e) => fmt(h.p99Ms / e.p99Ms, 2)],
    ["max latency (ms)", (r) => fmt(r.maxMs, 1), (h, e) => fmt(h.maxMs / e.maxMs, 2)],
    ["lost / error replies", (r) => `${r.lost} / ${r.errors}`, undefined],
    ["disconnects in window", (r) => String(r.disconnects), undefined],
    ["server RSS (MiB)", (r) => fmt(r.serverRssMiB, 0), (h, e) => fmt(h.serverRssMiB / e.serverRssMiB, 2)],
    [
      "server JS heap (MiB)",
      (r) => fmt(r.serverHeapMiB, 0),
      (h, e) => fmt(h.serverHeapMiB / e.serverHeapMiB, 2),
    ],
    [
      "server CPU (% of one core)",
      (r) => fmt(r.serverCpuPercent, 1),
      (h, e) => fmt(h.serverCpuPercent / e.serverCpuPercent, 2),
    ],
    [
      "server CPU per reply (µs)",
      (r) => fmt(r.serverCpuUsPerReply, 0),
      (h, e) => fmt(h.serverCpuUsPerReply / e.serverCpuUsPerReply, 2),
    ],
    ["server event-loop lag max (ms)", (r) => fmt(r.serverLoopLagMaxMs, 0), undefined],
    ["edge processes CPU (% of one core)", (r) => fmt(r.clientCpuPercent, 0), undefined],
    ["edge event-loop lag max (ms)", (r) => fmt(r.clientLoopLagMaxMs, 0), undefined],
    ["load average before → after", (r) => `${r.loadBefore} → ${r.loadAfter}`, undefined],
  ];
  const head = ["", ...results.map((r) => r.mode === "hub" ? "CloudHub" : "TLS WS echo")];
  if (hub && echo) head.push("ratio CloudHub / echo");
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const [label, cell, ratio] of rows) {
    const cells = [label, ...results.map(cell)];
    if (hub && echo) cells.push(ratio ? ratio(hub, echo) : "");
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const o = parseOptions(Deno.args);
  const dir = o.certDir ?? await Deno.makeTempDir({ prefix: "kedge-bench-cloudhub-" });
  await Deno.mkdir(dir, { recursive: true });
  say(
    `cloudhub bench: ${o.edges} edges, ${o.seconds} s window after ${o.warmup} s warm-up, ` +
      `${o.clients} edge processes, dial rate ${o.rate}/s; files in ${dir}`,
  );
  say(`  host: ${Deno.osRelease()} ${navigator.hardwareConcurrency} cores, load ${loadAverage()}`);
  await ensurePki(dir, o.edges);
  const rounds: Record<"hub" | "echo", Result[]> = { hub: [], echo: [] };
  let incomplete = false;
  for (let round = 1; round <= o.rounds; round++) {
    for (const mode of ["hub", "echo"] as const) {
      if (o.only && o.only !== mode) continue;
      if (o.rounds > 1) say(`round ${round}/${o.rounds}: ${mode}`);
      try {
        const r = await runOne(mode, o, dir);
        rounds[mode].push(r);
        say(
          `  ${mode}: ${r.connected} connected, ${r.repliesPerSecond.toFixed(0)} replies/s, ` +
            `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, server CPU ${
              r.serverCpuPercent.toFixed(1)
            } %, ` +
            `RSS ${r.serverRssMiB.toFixed(0)} MiB, load ${r.loadAfter}`,
        );
        if (Object.keys(r.failures).length > 0) {
          say(`  ${mode} connect failures: ${JSON.stringify(r.failures)}`);
        }
      } catch (err) {
        incomplete = true;
        say(`  ${mode}: did not complete: ${err instanceof Error ? err.message : err}`);
      }
    }
  }
  const results = (["hub", "echo"] as const).flatMap((mode) => {
    const list = rounds[mode];
    return list.length > 0 ? [median(list)] : [];
  });
  console.log(
    `\n${o.edges} edges, ${o.seconds} s window, ${
      o.rounds === 1 ? "1 round" : `median of ${o.rounds} rounds`
    } ` +
      `(deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores)\n`,
  );
  console.log(table(results));
  // Logs of a run that did not complete stay for a look; the keys are throwaway test keys either way.
  if (!o.certDir && !incomplete) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else say(`  files kept in ${dir}`);
}
