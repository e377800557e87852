/**
 * The process's own figures on /metrics, for soak runs and operators: resident memory, V8 heap in use (its
 * lowest value since the last scrape approximates "after GC" without forcing one), and event-loop lag
 * (how late a periodic timer fires: p99 and max since the last scrape). The timer wakes the process on
 * every tick, so an idle edge box ticks slower (1 s) than cloudcore (200 ms).
 */
import { getHeapSpaceStatistics } from "node:v8";
import type { Registry } from "./metrics.ts";

const DEFAULT_TICK_MS = 200;

export interface ProcessMetrics {
  stop(): void;
}

export function registerProcessMetrics(
  registry: Registry,
  prefix: string,
  tickMs = DEFAULT_TICK_MS,
): ProcessMetrics {
  const rss = registry.gauge(`${prefix}_process_resident_memory_bytes`, "Resident set size of the process.");
  const heap = registry.gauge(`${prefix}_js_heap_used_bytes`, "V8 heap in use now.");
  const heapMin = registry.gauge(
    `${prefix}_js_heap_used_min_bytes`,
    `Lowest V8 heap in use seen since the last scrape (sampled every ${tickMs} ms): close to the heap after GC.`,
  );
  const spaces = registry.gauge(
    `${prefix}_js_heap_space_bytes`,
    "V8 heap by space (new, old, code, large objects, ...): memory it holds (size) and what is live in it (used).",
  );
  const lag = registry.gauge(
    `${prefix}_event_loop_lag_seconds`,
    `How late a ${tickMs} ms timer fired, since the last scrape, by quantile (0.99, 1 = max).`,
  );
  let lags: number[] = [];
  let lowest = Infinity;
  let expected = performance.now() + tickMs;
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    if (lags.length > 18_000) lags = lags.slice(-9_000);
    expected = now + tickMs;
    lowest = Math.min(lowest, Deno.memoryUsage().heapUsed);
  }, tickMs);
  Deno.unrefTimer(timer);
  registry.onCollect(() => {
    const memory = Deno.memoryUsage();
    rss.set(memory.rss);
    heap.set(memory.heapUsed);
    heapMin.set(Number.isFinite(lowest) ? lowest : memory.heapUsed);
    for (const space of getHeapSpaceStatistics()) {
      if (!space.space_size) continue;
      spaces.set(space.space_size, { space: space.space_name, of: "size" });
      spaces.set(space.space_used_size, { space: space.space_name, of: "used" });
    }
    lowest = Infinity;
    const sorted = lags.sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0;
    lag.set(at(0.99) / 1000, { quantile: "0.99" });
    lag.set((sorted.at(-1) ?? 0) / 1000, { quantile: "1" });
    lags = [];
  });
  return { stop: () => clearInterval(timer) };
}
