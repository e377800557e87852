/**
 * Full garbage collections that keep V8's old space near what is live, where the runtime exposes `gc`
 * (edgecore runs with --expose-gc):
 * - once a minute: an idle edgecore allocates little, so V8 rarely reaches the limit that starts a full GC,
 *   and old garbage holds native memory (sockets' and buffers' backing stores, SQLite statements) with it:
 *   measured idle, anonymous memory grew 13 MiB in 4 minutes while the live heap stayed near 14 MiB;
 * - sooner when the heap grew by `growthBytes` since the last one: with pods, each relist and status sync
 *   leaves objects that outlive a scavenge and are promoted, and V8 let old space reach 17 MiB over 12 MiB
 *   live before it collected (bench/README.md). Checked every `checkMs`, which costs one heap statistics call.
 * V8's memory reducer runs such collections too, but only after a full collection that found the heap much
 * bigger than at its last run: in edgecore, two or three in the first minute after each start (--trace-gc:
 * "Mark-Compact (reduce)" about 25 s after the first forced one), then none until the heap grows by 10 MB.
 * edgecore runs without it (bin/permissions.sh: --no-memory-reducer) and relies on these alone. One costs a
 * few milliseconds on a heap this size (15-30 ms in lite mode at idle).
 */
import { getHeapStatistics } from "node:v8";
import type { Registry } from "./metrics.ts";

const DEFAULT_PERIOD_MS = 60_000;
const DEFAULT_CHECK_MS = 5_000;
const DEFAULT_GROWTH_BYTES = 2 * 1024 * 1024;

export interface IdleGcOptions {
  periodMs?: number;
  checkMs?: number;
  growthBytes?: number;
}

export interface IdleGc {
  stop(): void;
  /** Full collections run so far, by what started them, and the milliseconds they took. */
  readonly runs: { period: number; growth: number };
  readonly spentMs: () => number;
}

type Gc = (options?: { type?: string; execution?: string }) => unknown;

export function startIdleGc(options: IdleGcOptions = {}): IdleGc {
  const runs = { period: 0, growth: 0 };
  let spentMs = 0;
  const gc = (globalThis as { gc?: Gc }).gc;
  if (typeof gc !== "function") return { stop: () => {}, runs, spentMs: () => 0 };
  const periodMs = options.periodMs ?? DEFAULT_PERIOD_MS;
  const growthBytes = options.growthBytes ?? DEFAULT_GROWTH_BYTES;
  let lastAt = performance.now();
  let afterLast = getHeapStatistics().used_heap_size;
  const collect = (why: keyof typeof runs) => {
    const start = performance.now();
    gc({ type: "major", execution: "sync" });
    runs[why]++;
    lastAt = performance.now();
    spentMs += lastAt - start;
    afterLast = getHeapStatistics().used_heap_size;
  };
  const timer = setInterval(() => {
    if (performance.now() - lastAt >= periodMs) collect("period");
    else if (getHeapStatistics().used_heap_size - afterLast >= growthBytes) collect("growth");
  }, Math.min(options.checkMs ?? DEFAULT_CHECK_MS, periodMs));
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer), runs, spentMs: () => spentMs };
}

/** The collections on /metrics: how many by reason and the time they took, to weigh their CPU. */
export function registerIdleGcMetrics(registry: Registry, prefix: string, idleGc: IdleGc): void {
  const runs = registry.gauge(
    `${prefix}_forced_gc_runs`,
    "Full collections the process started itself (lib/idle_gc.ts), by reason.",
  );
  const seconds = registry.gauge(
    `${prefix}_forced_gc_seconds`,
    "Time spent in the full collections it started.",
  );
  registry.onCollect(() => {
    for (const [reason, count] of Object.entries(idleGc.runs)) runs.set(count, { reason });
    seconds.set(idleGc.spentMs() / 1000);
  });
}
