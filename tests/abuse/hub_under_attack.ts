/**
 * The frame of every channel abuse test: a CloudHub on a free loopback port (in this process, so the test
 * process's RSS and /proc/self/fd are the hub's), 50 honest edges beside the attack, and the figures the
 * tests assert on: the honest edges' outcome, RSS over the attack, and file descriptors before and after.
 */
import assert from "node:assert/strict";
import { type CloudHub, type CloudHubOptions, startCloudHub } from "../../cloud/hub/mod.ts";
import { hubMetrics } from "../../cloud/hub/hub_metrics.ts";
import { createTestPki, delay, testLogger, type TestPki } from "../../cloud/hub/test_util.ts";
import { Registry } from "../../lib/metrics.ts";
import { type Message, responseTo } from "../../lib/protocol/mod.ts";
import {
  describe,
  type EdgeCredentials,
  type EdgeFigures,
  honestCredentials,
  startHonestEdges,
  unaffected,
} from "./honest_edges.ts";
import { FD_SLACK, MiB, mib, openFds, Sampler, settledFds } from "./resources.ts";

export { FD_SLACK, MiB, mib, openFds };

/** The frame limit of the abuse tests: small, so an oversize frame is cheap to send. */
export const TEST_MAX_MESSAGE_BYTES = 64 * 1024;
/** The honest edges run at least this long, so each sends a few keepalives and requests. */
const HONEST_RUN_MS = 3_500;

export const pki: TestPki = await createTestPki();
const honest: readonly EdgeCredentials[] = await honestCredentials(pki);

/** The hub as the tests start it: what they override, and short timeouts so a test stays short. */
export const TEST_HUB_OPTIONS = {
  maxMessageBytes: TEST_MAX_MESSAGE_BYTES,
  keepaliveTimeoutMs: 3_000,
  handshakeTimeoutMs: 1_000,
  closeGraceMs: 200,
} as const satisfies Partial<CloudHubOptions>;

export interface Attack {
  readonly hub: CloudHub;
  readonly port: number;
  readonly registry: Registry;
  /** Messages that reached onMessage from nodes other than the honest edges. */
  readonly delivered: Message[];
  /** kedge_cloudhub_frames_rejected_total{reason}. */
  rejected(reason: string): number;
}

export interface AttackReport {
  readonly honest: EdgeFigures[];
  readonly rssBaseline: number;
  readonly rssPeak: number;
  readonly fdBaseline: number;
  readonly fdPeak: number;
  /** File descriptors once the attack is over (polled until back within slack, or 3 s). */
  readonly fdAfter: number;
  readonly attackMs: number;
}

/** Runs `attack` against a hub with 50 honest edges connected; returns the figures once all is closed. */
export async function underAttack(
  options: Partial<CloudHubOptions>,
  attack: (a: Attack) => Promise<void>,
): Promise<AttackReport> {
  const registry = new Registry();
  const honestNodes = new Set(honest.map((c) => c.name));
  const delivered: Message[] = [];
  const hub = await startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
    registry,
    onMessage: (node, message) => {
      if (!honestNodes.has(node)) delivered.push(message);
      return Promise.resolve(responseTo(message, { Object: { kind: "ConfigMap" }, Err: null }));
    },
    ...TEST_HUB_OPTIONS,
    ...options,
  });
  const frames = hubMetrics(registry).framesRejected;
  const started = performance.now();
  let edges: Awaited<ReturnType<typeof startHonestEdges>> | undefined;
  const sampler = new Sampler();
  try {
    edges = await startHonestEdges(hub.port, pki.caPem, honest);
    await delay(200);
    sampler.start();
    const attackStarted = performance.now();
    await attack({ hub, port: hub.port, registry, delivered, rejected: (reason) => frames.get({ reason }) });
    const attackMs = performance.now() - attackStarted;
    const fdAfter = await settledFds(sampler.fdBaseline);
    sampler.stop();
    const rest = HONEST_RUN_MS - (performance.now() - started);
    if (rest > 0) await delay(rest);
    const figures = await edges.stop();
    edges = undefined;
    return {
      honest: figures,
      rssBaseline: sampler.rssBaseline,
      rssPeak: sampler.rssPeak,
      fdBaseline: sampler.fdBaseline,
      fdPeak: sampler.fdPeak,
      fdAfter,
      attackMs,
    };
  } finally {
    sampler.stop();
    await edges?.stop();
    await hub.close();
  }
}

/** Logs the figures; asserts the honest edges were unaffected, RSS stayed bounded, no descriptor leaked. */
export function assertWithstood(what: string, report: AttackReport, rssBound: number): void {
  const growth = report.rssPeak - report.rssBaseline;
  console.log(
    `${what}: ${describe(report.honest)}; attack ${Math.round(report.attackMs)} ms; ` +
      `RSS ${mib(report.rssBaseline)} MiB, peak +${mib(growth)} MiB; ` +
      `fds ${report.fdBaseline}, peak ${report.fdPeak}, after ${report.fdAfter}`,
  );
  assert.ok(unaffected(report.honest), describe(report.honest));
  assert.ok(growth < rssBound, `RSS grew ${mib(growth)} MiB, the bound is ${mib(rssBound)} MiB`);
  assert.ok(
    report.fdAfter <= report.fdBaseline + FD_SLACK,
    `${report.fdAfter} descriptors open after the attack, ${report.fdBaseline} before`,
  );
}
