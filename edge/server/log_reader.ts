// Reads one CRI log file the way `kubectl logs` asks: from the start or the last N lines, records since a
// time, with or without timestamps, up to a byte limit, and with `follow` keeps reading as the file grows
// until the container stops or the reader goes away.
import { type CriLogRecord, parseCriLine, renderCriRecord } from "./cri_log.ts";

export interface LogReadOptions {
  readonly path: string;
  /** Start at the last N lines; all when undefined. */
  readonly tailLines?: number;
  /** Only records at or after this time (ms since the epoch). */
  readonly sinceMs?: number;
  readonly timestamps: boolean;
  /** Stop after this many bytes of output. */
  readonly limitBytes?: number;
  readonly follow: boolean;
  /** With follow: whether the container may still write; reading ends at EOF once this is false. */
  readonly stillRunning: () => Promise<boolean>;
  /** Writes output; resolves when the reader can take more (backpressure). */
  readonly write: (chunk: Uint8Array) => Promise<void>;
  readonly signal: AbortSignal;
  /** Longest line kept whole; a longer one is cut there. Default 1 MiB. */
  readonly maxLineBytes?: number;
  /** How often follow looks for new data. Default 100 ms. */
  readonly pollMs?: number;
}

const CHUNK = 64 * 1024;
const BATCH = 32 * 1024;
const NEWLINE = 0x0a;

/** Offset where the last `lines` lines of the file start (a trailing newline ends the last line). */
export async function tailOffset(file: Deno.FsFile, size: number, lines: number): Promise<number> {
  if (lines <= 0) return size;
  let seen = 0;
  let end = size;
  const buf = new Uint8Array(CHUNK);
  let skipTrailing = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    await file.seek(start, Deno.SeekMode.Start);
    const n = await readFull(file, buf.subarray(0, end - start));
    for (let i = n - 1; i >= 0; i--) {
      if (buf[i] !== NEWLINE) {
        skipTrailing = false;
        continue;
      }
      if (skipTrailing) {
        skipTrailing = false;
        continue;
      }
      seen++;
      if (seen === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

async function readFull(file: Deno.FsFile, into: Uint8Array): Promise<number> {
  let off = 0;
  while (off < into.length) {
    const n = await file.read(into.subarray(off));
    if (n === null) break;
    off += n;
  }
  return off;
}

/** Streams the log; resolves when done (EOF without follow, container stopped, limit hit, or aborted). */
export async function readContainerLog(o: LogReadOptions): Promise<void> {
  const maxLine = o.maxLineBytes ?? 1024 * 1024;
  const pollMs = o.pollMs ?? 100;
  using file = await Deno.open(o.path, { read: true });
  const size = (await file.stat()).size;
  await file.seek(
    o.tailLines === undefined ? 0 : await tailOffset(file, size, o.tailLines),
    Deno.SeekMode.Start,
  );
  let left = o.limitBytes ?? Infinity;
  let pending: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(CHUNK);
  let lastCheck = 0;

  // Rendered records are batched into writes of about BATCH bytes.
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async () => {
    if (batched === 0) return;
    const out = new Uint8Array(batched);
    let at = 0;
    for (const part of batch) {
      out.set(part, at);
      at += part.length;
    }
    batch = [];
    batched = 0;
    await o.write(out);
  };
  const emit = async (line: Uint8Array): Promise<boolean> => {
    const record: CriLogRecord | undefined = parseCriLine(line);
    if (!record || (o.sinceMs !== undefined && record.timeMs < o.sinceMs)) return true;
    let out = renderCriRecord(record, o.timestamps);
    if (out.length > left) out = out.subarray(0, left);
    left -= out.length;
    batch.push(out);
    batched += out.length;
    if (batched >= BATCH) await flush();
    return left > 0;
  };

  while (!o.signal.aborted) {
    const n = await file.read(buf);
    if (n === null || n === 0) {
      if (!o.follow) return;
      const now = Date.now();
      if (now - lastCheck >= 1000) {
        lastCheck = now;
        // Read what arrived before the container stopped, then end.
        if (!(await o.stillRunning())) {
          const tail = await file.read(buf);
          if (tail === null || tail === 0) return;
          pending = concat(pending, buf.subarray(0, tail));
          if (!(await drainLines())) return;
          continue;
        }
      }
      await sleep(pollMs, o.signal);
      continue;
    }
    pending = concat(pending, buf.subarray(0, n));
    if (!(await drainLines())) return;
  }

  async function drainLines(): Promise<boolean> {
    let start = 0;
    let more = true;
    for (;;) {
      const nl = pending.indexOf(NEWLINE, start);
      if (nl < 0) break;
      more = await emit(pending.subarray(start, nl));
      start = nl + 1;
      if (!more) break;
    }
    pending = pending.slice(start);
    if (more && pending.length > maxLine) {
      more = await emit(pending.subarray(0, maxLine));
      pending = new Uint8Array(0);
    }
    await flush();
    return more;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
