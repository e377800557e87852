/**
 * bench/edge_footprint.ts's long phases, one agent each: pod create/delete cycles (slopes per cycle once
 * warm) and idle minutes (slopes per hour), of RSS, anonymous memory and kedge's lowest JS heap.
 */
import { podCycle } from "./edge_footprint_load.ts";
import { memory } from "./edge_footprint_probe.ts";
import type { SlopeLine } from "./edge_footprint_report.ts";
import type { Stack } from "./edge_footprint_stacks.ts";
import { fit } from "./soak_report.ts";

interface Point {
  x: number;
  /** KiB */
  rss: number;
  anon: number;
  /** bytes */
  heap?: number;
}

async function point(s: Stack, x: number): Promise<Point> {
  const m = memory(s.agentPid());
  return { x, rss: m.rss, anon: m.anon, heap: (await s.heap?.())?.min };
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

/** `cycles` pods created, Running, deleted and gone; slopes over the cycles after the first fifth. */
export async function cycleSlopes(s: Stack, cycles: number): Promise<SlopeLine> {
  const every = Math.max(1, Math.floor(cycles / 40));
  const warmFrom = Math.floor(cycles / 5);
  const points: Point[] = [];
  const started = performance.now();
  for (let n = 0; n <= cycles; n++) {
    if (n % every === 0 || n === cycles) points.push(await point(s, n));
    if (n < cycles) await podCycle(s, n, 120_000);
  }
  const seconds = (performance.now() - started) / 1000;
  const warm = points.filter((p) => p.x >= warmFrom);
  const [first, last] = [points[0]!, points.at(-1)!];
  return {
    phase: `${cycles} pod create/delete cycles`,
    agent: s.label,
    rss: fit(warm.map((p) => [p.x, p.rss])),
    anon: fit(warm.map((p) => [p.x, p.anon])),
    heapMin: s.heap ? fit(warm.map((p) => [p.x, (p.heap ?? NaN) / 1024])) : undefined,
    unit: "KiB/cycle",
    detail:
      `${warm.length} samples, cycles ${warmFrom}-${cycles}, ${(seconds / cycles).toFixed(1)} s/cycle; ` +
      `RSS ${mib(first.rss)} -> ${mib(last.rss)} MiB, anon ${mib(first.anon)} -> ${mib(last.anon)} MiB`,
  };
}

/**
 * A sample every 30 s for `minutes`; slopes per hour over the samples after the first fifth (as the cycles:
 * the minutes right after Ready load code and fill caches, which is no growth that goes on).
 */
export async function idleSlopes(s: Stack, minutes: number): Promise<SlopeLine> {
  const points: Point[] = [];
  const started = performance.now();
  const hours = () => (performance.now() - started) / 3_600_000;
  while (hours() * 60 < minutes) {
    points.push(await point(s, hours()));
    await new Promise((r) => setTimeout(r, 30_000));
  }
  points.push(await point(s, hours()));
  const warmFrom = minutes / 5 / 60;
  const warm = points.filter((p) => p.x >= warmFrom);
  const [first, last] = [points[0]!, points.at(-1)!];
  return {
    phase: `${minutes} idle minutes`,
    agent: s.label,
    rss: fit(warm.map((p) => [p.x, p.rss / 1024])),
    anon: fit(warm.map((p) => [p.x, p.anon / 1024])),
    heapMin: s.heap ? fit(warm.map((p) => [p.x, (p.heap ?? NaN) / 1048576])) : undefined,
    unit: "MiB/hour",
    detail: `${warm.length} samples, every 30 s from minute ${(warmFrom * 60).toFixed(0)}; RSS ${
      mib(first.rss)
    } -> ${mib(last.rss)} MiB, anon ${mib(first.anon)} -> ${mib(warm[0]!.anon)} (minute ${
      (warmFrom * 60).toFixed(0)
    }) -> ${mib(last.anon)} MiB`,
  };
}
