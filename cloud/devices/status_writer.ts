/**
 * Device.status writes, coalesced: at most one merge patch of the status subresource per device per
 * interval (1 s), carrying the latest value of every property reported meanwhile. The first report after a
 * quiet interval is written at once, later ones join the next write; `submit` resolves only once a write
 * holding the report has succeeded (the edge's report is acknowledged then, so a cloudcore that dies before
 * the write loses nothing: the edge still holds the report and sends it again), and rejects when the device
 * is gone or cloudcore stops before it could be written. A failed write keeps its values (under newer ones) and is
 * tried again after a jittered backoff that doubles per failure of that device up to `maxRetryMs`, unless
 * the device is gone. While the apiserver is away this keeps the writes (each a TLS connection attempt,
 * which the runtime holds on to for a while) and the warn lines (one per WARN_INTERVAL_MS) few.
 */
import type { Logger } from "../../lib/log.ts";
import type { DeviceStatus, StatusUpdate, TwinStatus } from "./wire.ts";

export interface StatusWriterOptions {
  /** The device's status as last seen (informer cache), or undefined when the device is gone. */
  readonly current: (key: string) => DeviceStatus | undefined;
  /** Writes `{status}` as a merge patch of the status subresource of device `key` (`<ns>/<name>`). */
  readonly patch: (key: string, status: DeviceStatus) => Promise<void>;
  /** True when the error says the device no longer exists (nothing to retry). */
  readonly isGone: (error: unknown) => boolean;
  readonly log: Logger;
  readonly intervalMs?: number;
  /** Longest wait before retrying a device whose writes fail. */
  readonly maxRetryMs?: number;
  readonly now?: () => number;
  /** [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
  readonly onWrite?: (outcome: "ok" | "error") => void;
  readonly onCoalesced?: () => void;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** The report cannot be written: the device is gone, or cloudcore is stopping. */
export class StatusNotWrittenError extends Error {
  override readonly name = "StatusNotWrittenError";
}

interface Entry {
  pending?: StatusUpdate;
  /** Callers whose reports are in `pending` (or in a failed write that is retried). */
  waiting: Waiter[];
  timer?: ReturnType<typeof setTimeout>;
  writing?: Promise<void>;
  lastWriteAt: number;
  /** Failed writes in a row; the next write waits until `retryAt`. */
  failures: number;
  retryAt: number;
  /** What this writer wrote last, overlaid on the cache (which may not show it yet). */
  written: Map<string, Omit<TwinStatus, "propertyName">>;
  state?: string;
  lastOnlineTime?: string;
}

export const DEFAULT_STATUS_INTERVAL_MS = 1000;
export const DEFAULT_MAX_RETRY_MS = 30_000;
/** At most one warn line about failed writes per this long; the rest are counted into the next line. */
export const WARN_INTERVAL_MS = 30_000;

export class StatusWriter {
  readonly #o: StatusWriterOptions;
  readonly #interval: number;
  readonly #maxRetry: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry>();
  #stopped = false;
  #warnedAt = -Infinity;
  #unwarned = 0;

  constructor(options: StatusWriterOptions) {
    this.#o = options;
    this.#interval = options.intervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    this.#maxRetry = Math.max(this.#interval, options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS);
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Holds `update` for device `key`; resolves once a write holding it has succeeded. */
  submit(key: string, update: StatusUpdate): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(new StatusNotWrittenError("Cannot write: cloudcore is stopping"));
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { waiting: [], lastWriteAt: -Infinity, failures: 0, retryAt: -Infinity, written: new Map() };
      this.#entries.set(key, entry);
    }
    entry.pending = merge(entry.pending, update);
    const written = new Promise<void>((resolve, reject) => entry.waiting.push({ resolve, reject }));
    if (entry.writing || entry.timer !== undefined) {
      this.#o.onCoalesced?.();
      return written;
    }
    const wait = this.#wait(entry);
    if (wait <= 0) {
      void this.#write(key, entry);
      return written;
    }
    this.#o.onCoalesced?.();
    this.#schedule(key, entry, wait);
    return written;
  }

  /** The device is gone: drop what is held for it (its callers learn it was not written). */
  forget(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.#entries.delete(key);
    settle(
      entry.waiting.splice(0),
      new StatusNotWrittenError(`Cannot write the status of ${key}: it is gone`),
    );
  }

  /** Writes what is held now (one try each) and stops; reports that could not be written are refused. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const entry of this.#entries.values()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    // Writes in flight first; then what is still held (reports that came during them), one try each.
    await Promise.allSettled([...this.#entries.values()].map((entry) => entry.writing));
    await Promise.allSettled(
      [...this.#entries].filter(([, entry]) => entry.pending).map(([key, entry]) => this.#write(key, entry)),
    );
    for (const entry of this.#entries.values()) {
      settle(entry.waiting.splice(0), new StatusNotWrittenError("Cannot write: cloudcore is stopping"));
    }
  }

  #schedule(key: string, entry: Entry, wait: number): void {
    if (this.#stopped || entry.timer !== undefined) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.#entries.get(key) !== entry || !entry.pending) return;
      void this.#write(key, entry);
    }, Math.max(0, wait));
  }

  #write(key: string, entry: Entry): Promise<void> {
    const update = entry.pending;
    const waiters = entry.waiting.splice(0);
    entry.pending = undefined;
    if (!update) {
      settle(waiters);
      return Promise.resolve();
    }
    entry.lastWriteAt = this.#now();
    const run = async () => {
      const current = this.#o.current(key);
      if (!current) {
        entry.waiting.unshift(...waiters);
        this.forget(key);
        return;
      }
      const status = this.#status(current, entry, update);
      try {
        await this.#o.patch(key, status);
        this.#o.onWrite?.("ok");
        entry.failures = 0;
        for (const [prop, twin] of update.twins) {
          entry.written.set(prop, { ...entry.written.get(prop), ...twin });
        }
        if (update.state) entry.state = update.state;
        if (update.lastOnlineTime) entry.lastOnlineTime = update.lastOnlineTime;
        settle(waiters);
      } catch (error) {
        this.#o.onWrite?.("error");
        // These reports ride the retry (or learn that the device is gone).
        entry.waiting.unshift(...waiters);
        if (this.#o.isGone(error)) {
          this.forget(key);
          return;
        }
        entry.failures++;
        entry.retryAt = this.#now() + this.#retryDelay(entry.failures);
        this.#warn(key, error);
        // Newer values win over the ones that failed.
        entry.pending = entry.pending ? merge(update, entry.pending) : update;
      }
    };
    const writing = run().finally(() => {
      entry.writing = undefined;
      if (entry.pending && this.#entries.get(key) === entry) {
        this.#schedule(key, entry, this.#wait(entry));
      }
    });
    entry.writing = writing;
    return writing;
  }

  /** Milliseconds until `entry` may be written: an interval after its last write, later after failures. */
  #wait(entry: Entry): number {
    return Math.max(entry.lastWriteAt + this.#interval, entry.retryAt) - this.#now();
  }

  /** Interval x 2^(failures-1), capped, then jittered into its upper half so retries spread out. */
  #retryDelay(failures: number): number {
    const ceiling = Math.min(this.#maxRetry, this.#interval * 2 ** Math.min(failures - 1, 30));
    return Math.round(ceiling / 2 + this.#random() * ceiling / 2);
  }

  #warn(key: string, error: unknown): void {
    const now = this.#now();
    if (now - this.#warnedAt < WARN_INTERVAL_MS) {
      this.#unwarned++;
      return;
    }
    const folded = this.#unwarned;
    this.#warnedAt = now;
    this.#unwarned = 0;
    this.#o.log.warn("device status write failed, retrying with backoff", {
      device: key,
      error,
      ...(folded ? { moreFailuresSinceLastWarn: folded } : {}),
    });
  }

  /** The whole status to write: the cache, what this writer wrote since, then the update. */
  #status(current: DeviceStatus, entry: Entry, update: StatusUpdate): DeviceStatus {
    const twins = new Map<string, TwinStatus>();
    for (const twin of current.twins ?? []) twins.set(twin.propertyName, twin);
    // What this writer wrote, unless the cache already holds something as new (another replica's write).
    for (const [prop, twin] of entry.written) {
      const cached = twins.get(prop);
      if (stamp(cached?.reported) >= stamp(twin.reported)) continue;
      twins.set(prop, { ...cached, ...twin, propertyName: prop });
    }
    for (const [prop, twin] of update.twins) {
      twins.set(prop, { ...twins.get(prop), ...twin, propertyName: prop });
    }
    const status: DeviceStatus = { twins: [...twins.values()] };
    const state = update.state ?? entry.state ?? current.state;
    const lastOnline = update.lastOnlineTime ?? entry.lastOnlineTime ?? current.lastOnlineTime;
    if (state) status.state = state;
    if (lastOnline) status.lastOnlineTime = lastOnline;
    return status;
  }
}

function settle(waiters: Waiter[], error?: Error): void {
  for (const w of waiters) error ? w.reject(error) : w.resolve();
}

/** `next` over `base`, property by property. */
function merge(base: StatusUpdate | undefined, next: StatusUpdate): StatusUpdate {
  if (!base) return { ...next, twins: new Map(next.twins) };
  const twins = new Map(base.twins);
  for (const [prop, twin] of next.twins) twins.set(prop, { ...twins.get(prop), ...twin });
  return {
    twins,
    ...(next.state ?? base.state ? { state: next.state ?? base.state } : {}),
    ...(next.lastOnlineTime ?? base.lastOnlineTime
      ? { lastOnlineTime: next.lastOnlineTime ?? base.lastOnlineTime }
      : {}),
  };
}

function stamp(value: { metadata?: Record<string, string> } | undefined): number {
  const n = Number(value?.metadata?.timestamp);
  return Number.isFinite(n) ? n : -Infinity;
}
