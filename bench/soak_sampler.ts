/**
 * The soak's samples, every 10 s: cloudcore's and the real edgecore's own figures from /metrics
 * (lib/process_metrics.ts: RSS, V8 heap in use and its lowest value since the last scrape, event-loop lag
 * p99/max since the last scrape; cloudcore's watch restarts and relists), their RSS from /proc as a check,
 * CPU seconds of every process involved, and cloudcore's apiserver requests from the audit log.
 */

export interface ProcessSample {
  /** From the process's /metrics; NaN when the scrape failed (cloudcore restarting). */
  rss: number;
  heap: number;
  heapMin: number;
  lagP99: number;
  lagMax: number;
  /** VmRSS from /proc, bytes. */
  procRss: number;
  /** V8 heap after the last full GC (Mark-Compact) since the previous sample, bytes (--trace-gc); NaN: none. */
  heapAfterGc: number;
  cpuSeconds: number;
}

export interface Sample {
  t: number;
  cloud: ProcessSample;
  /** Which cloudcore process (1 before the restart, 2 after). */
  cloudInstance: number;
  edge: ProcessSample;
  simsCpuSeconds: number;
  apiserverCpuSeconds: number;
  /** cloudcore's series summed: watch restarts by reason, informer lists. */
  watchRestarts: Record<string, number>;
  informerLists: number;
  load: string;
}

/** Prometheus text -> series (`name{labels}`) -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Sum of every series of `name`, grouped by the value of `label` (or all under ""). */
export function sumBy(metrics: Map<string, number>, name: string, label?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of metrics) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    const key = label ? series.match(new RegExp(`[{,]${label}="([^"]*)"`))?.[1] ?? "" : "";
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

export async function scrape(port: number): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return parseMetrics(await res.text());
  } catch {
    return undefined;
  }
}

export function procRss(pid: number): number {
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) => l.startsWith("VmRSS:"));
    return Number(line?.split(/\s+/)[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
}

/** user+system CPU seconds of a process (all threads); NaN when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The newest live process named `comm` among those a run folder recorded (tests/cluster's `pids` file), e.g.
 * the kube-apiserver after a restart. Reads /proc/<pid>/comm only: reading another process's cmdline can
 * block while that process holds its memory map lock (seen as 20 s stalls of the whole soak).
 */
export function recordedPid(runDir: string, comm: string): number | undefined {
  let found: number | undefined;
  try {
    for (const line of Deno.readTextFileSync(`${runDir}/pids`).split("\n")) {
      const pid = Number(line.split(" ")[0]);
      if (!pid) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === comm) found = pid;
      } catch { /* gone */ }
    }
  } catch { /* no file */ }
  return found;
}

export function processSample(
  metrics: Map<string, number> | undefined,
  prefix: string,
  pid: number,
  heapAfterGc = NaN,
): ProcessSample {
  const get = (series: string) => metrics?.get(series) ?? NaN;
  return {
    rss: get(`${prefix}_process_resident_memory_bytes`),
    heap: get(`${prefix}_js_heap_used_bytes`),
    heapMin: get(`${prefix}_js_heap_used_min_bytes`),
    lagP99: get(`${prefix}_event_loop_lag_seconds{quantile="0.99"}`),
    lagMax: get(`${prefix}_event_loop_lag_seconds{quantile="1"}`),
    procRss: procRss(pid),
    heapAfterGc,
    cpuSeconds: cpuSeconds(pid),
  };
}

/**
 * The heap after full GCs, from a process run with DENO_V8_FLAGS=--trace-gc (V8 prints "Mark-Compact A (B)
 * -> C (D) MB" on stdout, which the harness appends to the component's log): read as the log grows.
 */
export class GcLog {
  #offset = 0;
  constructor(private readonly path: string) {}

  /** Bytes after the last full GC logged since the previous call; NaN when there was none. */
  async lastFullGc(): Promise<number> {
    let text: string;
    try {
      const bytes = await Deno.readFile(this.path);
      text = new TextDecoder().decode(bytes.subarray(this.#offset));
      this.#offset = bytes.length;
    } catch {
      return NaN;
    }
    let mib = NaN;
    for (const m of text.matchAll(/Mark-Compact[^\n]*?-> ([\d.]+) \(/g)) mib = Number(m[1]);
    return mib * 1048576;
  }
}

/** Reads the audit log as it grows: cloudcore's requests per `verb resource[/subresource]` in a time window. */
export class AuditCounter {
  #offset = 0;
  #rest = "";
  readonly #lines: Array<{ at: number; key: string }> = [];
  constructor(private readonly path: string) {}

  async read(): Promise<void> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path);
    } catch {
      return;
    }
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const chunks: Uint8Array[] = [];
      for await (const chunk of file.readable) chunks.push(chunk);
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      this.#offset += bytes;
      const text = this.#rest + new TextDecoder().decode(concat(chunks, bytes));
      const lines = text.split("\n");
      this.#rest = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        const e = JSON.parse(line) as {
          verb: string;
          requestReceivedTimestamp: string;
          objectRef?: { resource?: string; subresource?: string };
        };
        const sub = e.objectRef?.subresource ? `/${e.objectRef.subresource}` : "";
        this.#lines.push({
          at: Date.parse(e.requestReceivedTimestamp),
          key: `${e.verb} ${e.objectRef?.resource ?? "?"}${sub}`,
        });
      }
    } finally {
      try {
        file.close();
      } catch { /* closed by the readable */ }
    }
  }

  /** Requests received in [from, to) (epoch ms), by key. */
  count(from: number, to: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const { at, key } of this.#lines) if (at >= from && at < to) out.set(key, (out.get(key) ?? 0) + 1);
    return out;
  }
}

function concat(chunks: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
