/**
 * The built-in MQTT broker (aedes on node:net, with our limits, packet guard and ACL hooks) against
 * mosquitto under the same MQTT.js load: 10 publishers and 10 subscribers (publisher i -> subscriber i),
 * 1 KB payloads, QoS 0 and 1, loopback only. Each publisher keeps at most WINDOW messages in flight (sent
 * but not yet received by its subscriber), so latency is the broker's, not an unbounded client queue.
 * Each broker runs in its own process; the clients share this one.
 *
 *   bin/deno run --frozen --allow-all bench/mqtt_broker.ts [--messages 2000] [--seconds 15]
 */
import mqtt, { type MqttClient } from "mqtt";
import { join } from "node:path";
import { createLogger } from "../lib/log.ts";
import { startEventBus } from "../edge/bus/mod.ts";
import { startMosquitto } from "../tests/harness/mqtt_clients.ts";
import { createRunDir, freePort, spawnLogged } from "../tests/cluster/processes.ts";

const PAIRS = 10;
const PAYLOAD_BYTES = 1024;
const WINDOW = 32;

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** `--serve PORT`: run only the built-in broker, until killed. */
async function serve(port: number) {
  const bus = await startEventBus({
    mode: 0,
    internalUrl: `tcp://127.0.0.1:${port}`,
    externalUrl: "tcp://127.0.0.1:1",
    qos: 0,
    log: createLogger({ level: "warn" }),
  });
  Deno.addSignalListener("SIGTERM", () => bus.close().then(() => Deno.exit(0)));
}

interface Result {
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function load(port: number, qos: 0 | 1, perPublisher: number, seconds: number): Promise<Result> {
  const url = `mqtt://127.0.0.1:${port}`;
  const connect = () => mqtt.connectAsync(url, { reconnectPeriod: 0, clean: true });
  const subs: MqttClient[] = await Promise.all(Array.from({ length: PAIRS }, connect));
  const pubs: MqttClient[] = await Promise.all(Array.from({ length: PAIRS }, connect));
  const run = crypto.randomUUID().slice(0, 8);
  const latencies: number[] = [];
  const received = new Array<number>(PAIRS).fill(0);
  const wakers: Array<(() => void) | undefined> = new Array(PAIRS);
  await Promise.all(subs.map(async (sub, i) => {
    sub.on("message", (_topic, payload) => {
      latencies.push(performance.now() - new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0));
      received[i]!++;
      wakers[i]?.();
    });
    await sub.subscribeAsync(`bench/${run}/${i}`, { qos });
  }));
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(pubs.map(async (pub, i) => {
    const topic = `bench/${run}/${i}`;
    for (let sent = 0; sent < perPublisher && performance.now() < deadline; sent++) {
      while (sent - received[i]! >= WINDOW) await new Promise<void>((r) => wakers[i] = r);
      const payload = new Uint8Array(PAYLOAD_BYTES);
      new DataView(payload.buffer).setFloat64(0, performance.now());
      if (qos === 0) pub.publish(topic, payload as never, { qos });
      else pub.publish(topic, payload as never, { qos }, () => {});
    }
  }));
  const total = () => received.reduce((a, b) => a + b, 0);
  const sentAll = latencies.length;
  const settle = performance.now() + 5000;
  while (total() < sentAll && performance.now() < settle) await new Promise((r) => setTimeout(r, 10));
  // Wait for the in-flight tail: what was sent but not yet received.
  let last = -1;
  while (total() !== last && performance.now() < settle) {
    last = total();
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all([...subs, ...pubs].map((c) => c.endAsync(true)));
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    messages: total(),
    seconds: elapsed,
    perSecond: total() / elapsed,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

async function main() {
  const perPublisher = flag("messages", 2000);
  const seconds = flag("seconds", 15);
  const run = await createRunDir("bench-mqtt");
  const record = (pid: number) => run.record(pid);
  const builtinPort = freePort();
  const builtin = await spawnLogged(run, "builtin", Deno.execPath(), [
    "run",
    "--frozen",
    "--allow-all",
    join(import.meta.dirname!, "mqtt_broker.ts"),
    "--serve",
    String(builtinPort),
  ]);
  // Nagle off on both sides: the built-in broker sets TCP_NODELAY, mosquitto does so only when told.
  const mosquitto = await startMosquitto({
    dir: run.path,
    port: freePort(),
    record,
    extraConf: ["set_tcp_nodelay true"],
  });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: builtinPort })).close();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const rows: string[] = [];
    for (const qos of [0, 1] as const) {
      // Warm-up, then measure; mosquitto first so the built-in broker is not favoured by order.
      await load(mosquitto.port, qos, 200, 5);
      await load(builtinPort, qos, 200, 5);
      const m = await load(mosquitto.port, qos, perPublisher, seconds);
      const b = await load(builtinPort, qos, perPublisher, seconds);
      for (const [name, r] of [["mosquitto 2", m], ["built-in (aedes)", b]] as const) {
        rows.push(
          `| QoS ${qos} | ${name} | ${r.messages} | ${r.perSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${
            r.p99Ms.toFixed(2)
          } |`,
        );
      }
      rows.push(
        `| QoS ${qos} | ratio built-in / mosquitto | | ${(b.perSecond / m.perSecond).toFixed(2)} | ${
          (b.p50Ms / m.p50Ms).toFixed(2)
        } | ${(b.p99Ms / m.p99Ms).toFixed(2)} |`,
      );
    }
    console.log(
      `${PAIRS} publishers -> ${PAIRS} subscribers, ${PAYLOAD_BYTES} B payloads, window ${WINDOW}, ` +
        `${perPublisher} messages per publisher (at most ${seconds} s), ${navigator.hardwareConcurrency} cores`,
    );
    console.log("| QoS | broker | messages | messages/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|");
    console.log(rows.join("\n"));
  } finally {
    await builtin.stop();
    await mosquitto.stop();
    await run.remove();
  }
}

const serveAt = Deno.args.indexOf("--serve");
if (serveAt >= 0) await serve(Number(Deno.args[serveAt + 1]));
else await main();
