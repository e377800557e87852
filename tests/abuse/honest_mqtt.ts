/**
 * The frame of the MQTT abuse tests: edgecore's built-in broker (EventBus mode 0, in this process, with auth
 * and the ACL on), three honest publisher/subscriber pairs of real mosquitto_pub and mosquitto_sub beside the
 * attack, each publisher sending a numbered message every 100 ms at QoS 1 on its own topic, and the figures
 * the tests assert on: every honest message arrived within DELIVERY_DEADLINE_MS, RSS over the attack, file
 * descriptors before and after.
 */
import assert from "node:assert/strict";
import { type BusAuthOptions, type EventBus, startEventBus } from "../../edge/bus/mod.ts";
import type { BrokerLimits } from "../../edge/bus/options.ts";
import { Registry } from "../../lib/metrics.ts";
import { createRunDir } from "../cluster/processes.ts";
import { mosquittoSub, type Subscriber } from "../harness/mqtt_clients.ts";
import { testLogger } from "../../cloud/hub/test_util.ts";
import { percentile } from "./honest_edges.ts";
import { FD_SLACK, MiB, mib, Sampler, settledFds } from "./resources.ts";

export const PAIRS = 3;
const PUBLISH_EVERY_MS = 100;
/** The pairs run at least this long, so each sends a few dozen messages whatever the attack's length. */
const HONEST_RUN_MS = 3_000;
/** An honest message that takes longer than this to reach its subscriber counts as late, unless a test says. */
export const DELIVERY_DEADLINE_MS = 1_000;

export const ADMIN = { username: "edgecore", password: "admin-pw" };
export const DEV_A = { username: "default/dev-a", password: "a-pw" };
export const DEV_B = { username: "default/dev-b", password: "b-pw" };
/** Neither admin nor device: an app on the box; the honest pairs log in as it. */
export const APP = { username: "app", password: "app-pw" };

export const TEST_AUTH: BusAuthOptions = {
  users: Object.fromEntries([ADMIN, DEV_A, DEV_B, APP].map((u) => [u.username, u.password])),
  admins: [ADMIN.username],
  acl: true,
};
/** What the tests override: small, so an oversize packet or a full queue is cheap to reach. */
export const TEST_LIMITS = {
  maxPacketBytes: 256 * 1024,
  maxQueuedBytesPerClient: MiB,
} as const satisfies Partial<BrokerLimits>;

export interface MqttAttack {
  readonly bus: EventBus;
  readonly port: number;
  /** kedge_eventbus_rejected_total{reason}. */
  rejected(reason: string): number;
  /** Records a child process for the run folder (reaped if the test run is killed). */
  record(pid: number): void;
}

export interface PairFigures {
  readonly topic: string;
  readonly sent: number;
  readonly received: number;
  readonly latenciesMs: readonly number[];
}

export interface MqttReport {
  readonly honest: PairFigures[];
  readonly rssBaseline: number;
  readonly rssPeak: number;
  readonly fdBaseline: number;
  readonly fdAfter: number;
  readonly attackMs: number;
}

/** Runs `attack` against the broker with the honest pairs publishing; returns the figures once all is closed. */
export async function underMqttAttack(attack: (a: MqttAttack) => Promise<void>): Promise<MqttReport> {
  const run = await createRunDir("abuse-mqtt");
  const record = (pid: number) => run.record(pid);
  const registry = new Registry();
  const bus = await startEventBus({
    mode: 0,
    internalUrl: "tcp://127.0.0.1:0",
    externalUrl: "tcp://127.0.0.1:1",
    qos: 1,
    log: testLogger(),
    metrics: registry,
    limits: TEST_LIMITS,
    auth: TEST_AUTH,
  });
  const port = bus.brokerAddress!.port;
  // The broker registers the counter; read it back from the exposition.
  const rejected = (reason: string) =>
    Number(
      new RegExp(`^kedge_eventbus_rejected_total\\{reason="${reason}"\\} (\\d+)$`, "m")
        .exec(registry.render())?.[1] ?? 0,
    );
  let pairs: HonestPairs | undefined;
  const sampler = new Sampler();
  try {
    pairs = await startHonestPairs(port, record);
    sampler.start();
    const started = performance.now();
    await attack({ bus, port, rejected, record });
    const attackMs = performance.now() - started;
    const fdAfter = await settledFds(sampler.fdBaseline);
    sampler.stop();
    const rest = HONEST_RUN_MS - (performance.now() - started);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    const honest = await pairs.stop();
    pairs = undefined;
    return {
      honest,
      rssBaseline: sampler.rssBaseline,
      rssPeak: sampler.rssPeak,
      fdBaseline: sampler.fdBaseline,
      fdAfter,
      attackMs,
    };
  } finally {
    sampler.stop();
    await pairs?.stop();
    await bus.close();
    await run.remove();
  }
}

/** Logs the figures; asserts every honest message arrived in time, RSS stayed bounded, no descriptor leaked. */
export function assertMqttWithstood(
  what: string,
  report: MqttReport,
  rssBound: number,
  deadlineMs = DELIVERY_DEADLINE_MS,
): void {
  const growth = report.rssPeak - report.rssBaseline;
  const latencies = report.honest.flatMap((p) => p.latenciesMs);
  const sent = report.honest.reduce((n, p) => n + p.sent, 0);
  const received = report.honest.reduce((n, p) => n + p.received, 0);
  console.log(
    `${what}: honest ${received}/${sent} messages, latency p99 ${percentile(latencies, 0.99)} ms, ` +
      `max ${Math.max(0, ...latencies)} ms; attack ${Math.round(report.attackMs)} ms; ` +
      `RSS ${mib(report.rssBaseline)} MiB, peak +${mib(growth)} MiB; ` +
      `fds ${report.fdBaseline}, after ${report.fdAfter}`,
  );
  for (const pair of report.honest) {
    assert.ok(pair.sent > 0, `${pair.topic}: nothing sent`);
    assert.equal(pair.received, pair.sent, `${pair.topic}: ${pair.received} of ${pair.sent} arrived`);
  }
  assert.ok(Math.max(0, ...latencies) < deadlineMs, `an honest message took ${Math.max(...latencies)} ms`);
  assert.ok(growth < rssBound, `RSS grew ${mib(growth)} MiB, the bound is ${mib(rssBound)} MiB`);
  assert.ok(
    report.fdAfter <= report.fdBaseline + FD_SLACK,
    `${report.fdAfter} descriptors open after the attack, ${report.fdBaseline} before`,
  );
}

interface HonestPairs {
  /** Stops publishing, waits for the messages still on their way, ends every client. */
  stop(): Promise<PairFigures[]>;
}

async function startHonestPairs(port: number, record: (pid: number) => void): Promise<HonestPairs> {
  const topics = Array.from({ length: PAIRS }, (_, i) => `honest/${i}`);
  const subscribers: Subscriber[] = await Promise.all(
    topics.map((topic) => mosquittoSub(port, [topic], { ...APP, record })),
  );
  const publishers = topics.map((topic) => {
    const child = new Deno.Command("mosquitto_pub", {
      args: ["-h", "127.0.0.1", "-p", String(port), "-u", APP.username, "-P", APP.password, "-q", "1"]
        .concat(["-t", topic, "-l"]),
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    record(child.pid);
    return { child, stdin: child.stdin.getWriter(), sent: 0 };
  });
  const encoder = new TextEncoder();
  const timer = setInterval(() => {
    for (const p of publishers) {
      void p.stdin.write(encoder.encode(`${p.sent++} ${Date.now()}\n`)).catch(() => {});
    }
  }, PUBLISH_EVERY_MS);
  let stopped: Promise<PairFigures[]> | undefined;
  const stop = async (): Promise<PairFigures[]> => {
    clearInterval(timer);
    // End of input: mosquitto_pub sends what it has read and exits.
    await Promise.all(publishers.map((p) => p.stdin.close().catch(() => {})));
    await Promise.all(publishers.map((p) => p.child.status));
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && subscribers.some((s, i) => s.received.length < publishers[i]!.sent)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(subscribers.map((s) => s.stop()));
    return topics.map((topic, i) => {
      const received = subscribers[i]!.received;
      return {
        topic,
        sent: publishers[i]!.sent,
        received: new Set(received.map((m) => m.payload.split(" ")[0])).size,
        latenciesMs: received.map((m) => m.receivedAt - Number(m.payload.split(" ")[1])),
      };
    });
  };
  const pairs = { stop: () => stopped ??= stop() };
  // Every publisher connected (its first message through) before the attack's baseline is taken.
  const deadline = Date.now() + 5_000;
  while (subscribers.some((s) => s.received.length === 0)) {
    if (Date.now() > deadline) {
      await pairs.stop();
      throw new Error("Cannot start the honest MQTT pairs: no message through after 5 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return pairs;
}
