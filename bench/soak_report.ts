/**
 * The soak's figures from its samples: least-squares slopes of RSS and of the lowest JS heap between
 * scrapes (≈ heap after GC) over the samples after a warm-up, event-loop lag, and the Markdown table.
 */
import type { ProcessSample, Sample } from "./soak_sampler.ts";

export interface Slope {
  kibPerMin: number;
  samples: number;
  fromS: number;
  toS: number;
  firstMiB: number;
  lastMiB: number;
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function fit(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return n < 2 || sxx === 0 ? NaN : sxy / sxx;
}

/** Least-squares slope of `value` (bytes) over t (s), in KiB per minute; NaN samples are skipped. */
export function slope(samples: Sample[], value: (s: Sample) => number, fromS: number, toS: number): Slope {
  const points = samples.filter((s) => s.t >= fromS && s.t <= toS && Number.isFinite(value(s)))
    .map((s) => [s.t / 60, value(s) / 1024] as const);
  return {
    kibPerMin: fit(points),
    samples: points.length,
    fromS: points.length ? points[0]![0] * 60 : NaN,
    toS: points.length ? points.at(-1)![0] * 60 : NaN,
    firstMiB: points.length ? points[0]![1] / 1024 : NaN,
    lastMiB: points.length ? points.at(-1)![1] / 1024 : NaN,
  };
}

export const fmtSlope = (s: Slope) =>
  Number.isFinite(s.kibPerMin)
    ? `${s.kibPerMin.toFixed(0)} KiB/min = ${(s.kibPerMin * 60 / 1024).toFixed(1)} MiB/h (${
      s.firstMiB.toFixed(0)
    } → ${s.lastMiB.toFixed(0)} MiB, ${s.samples} samples, ${s.fromS.toFixed(0)}-${s.toS.toFixed(0)} s)`
    : `- (${s.samples} samples)`;

/** Event-loop lag over the samples in [fromS, toS]: median and worst of the 10-s p99s, and the max, in ms. */
export function lag(
  samples: Sample[],
  pick: (s: Sample) => ProcessSample,
  fromS = 0,
  toS = Infinity,
): string {
  const within = samples.filter((s) => s.t >= fromS && s.t <= toS);
  const p99s = within.map((s) => pick(s).lagP99 * 1000).filter(Number.isFinite).sort((a, b) => a - b);
  const maxes = within.map((s) => pick(s).lagMax * 1000).filter(Number.isFinite);
  if (!p99s.length) return "-";
  const median = p99s[Math.floor(p99s.length / 2)]!;
  return `${median.toFixed(0)} / ${p99s.at(-1)!.toFixed(0)} / ${Math.max(...maxes).toFixed(0)}`;
}

/**
 * CPU % of one core over the samples (from /proc). A value lower than the one before means the process was
 * restarted in between: its new total counts from zero.
 */
export function cpuPercent(samples: Sample[], value: (s: Sample) => number): string {
  const within = samples.filter((s) => Number.isFinite(value(s)));
  if (within.length < 2) return "-";
  let used = 0;
  for (let i = 1; i < within.length; i++) {
    const [a, b] = [value(within[i - 1]!), value(within[i]!)];
    used += b >= a ? b - a : b;
  }
  return (used / (within.at(-1)!.t - within[0]!.t) * 100).toFixed(1);
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(cells[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.slice(1).map(line)]
    .join("\n");
}

/** Samples as a compact CSV, for a person to plot. */
export function samplesCsv(samples: Sample[]): string {
  const mib = (b: number) => Number.isFinite(b) ? (b / 1048576).toFixed(1) : "";
  const ms = (s: number) => Number.isFinite(s) ? (s * 1000).toFixed(0) : "";
  const rows = samples.map((s) =>
    [
      s.t,
      s.cloudInstance,
      mib(s.cloud.rss),
      mib(s.cloud.procRss),
      mib(s.cloud.heapMin),
      mib(s.cloud.heapAfterGc),
      ms(s.cloud.lagP99),
      ms(s.cloud.lagMax),
      mib(s.edge.rss),
      mib(s.edge.procRss),
      mib(s.edge.heapMin),
      mib(s.edge.heapAfterGc),
      ms(s.edge.lagP99),
      ms(s.edge.lagMax),
      s.load.split(" ")[0],
    ].join(",")
  );
  return [
    "t_s,cloudcore,cloud_rss_mib,cloud_proc_rss_mib,cloud_heap_min_mib,cloud_heap_after_full_gc_mib," +
    "cloud_lag_p99_ms,cloud_lag_max_ms,edge_rss_mib,edge_proc_rss_mib,edge_heap_min_mib," +
    "edge_heap_after_full_gc_mib,edge_lag_p99_ms,edge_lag_max_ms,load1",
    ...rows,
  ].join("\n");
}
