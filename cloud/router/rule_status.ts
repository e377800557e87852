/**
 * Rule.status as KubeEdge keeps it: `successMessages` and `failMessages` counted per message, `errors` the
 * latest failure's reason (KubeEdge replaces the list with the one latest error). Writes are coalesced: the
 * counts of each interval (1 s) go in one merge patch of the Rule (its CRD has no status subresource),
 * guarded by the resourceVersion the counts were added to, so two replicas counting the same rule do not
 * overwrite each other's counts: a conflict keeps the counts for the next write.
 */
import type { Logger } from "../../lib/log.ts";
import { compareResourceVersion } from "../../lib/protocol/mod.ts";
import type { RuleStatus } from "./rule_spec.ts";

export interface RuleSnapshot {
  readonly resourceVersion: string;
  readonly status: RuleStatus;
}

export interface RuleStatusWriterOptions {
  /** The rule as the informer holds it, or undefined once deleted. */
  readonly current: (key: string) => RuleSnapshot | undefined;
  /** Merge-patches `body` into the Rule; resolves with the written rule. */
  readonly patch: (key: string, body: Record<string, unknown>) => Promise<RuleSnapshot>;
  /** 404: the rule is gone, drop its counts. */
  readonly isGone: (error: unknown) => boolean;
  /** 409: another writer changed the rule first; the counts wait for the next write. */
  readonly isConflict: (error: unknown) => boolean;
  readonly log: Logger;
  readonly intervalMs?: number;
  readonly onWrite?: (outcome: "ok" | "conflict" | "error") => void;
}

interface Pending {
  success: number;
  fail: number;
  error?: string;
}

const WARN_INTERVAL_MS = 30_000;

export class RuleStatusWriter {
  readonly #o: RuleStatusWriterOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #written = new Map<string, RuleSnapshot>();
  readonly #timer: ReturnType<typeof setInterval>;
  #flushing: Promise<void> | undefined;
  #warnedAt = -Infinity;

  constructor(options: RuleStatusWriterOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
  }

  /** Counts one message of rule `key` (`<namespace>/<name>`); a failure's reason becomes the latest error. */
  record(key: string, ok: boolean, error?: string): void {
    const p = this.#entry(key);
    if (ok) p.success++;
    else {
      p.fail++;
      if (error !== undefined) p.error = error.slice(0, 1024);
    }
  }

  /** A rule that cannot be routed: its reason is written as the latest error (once, not counted). */
  configError(key: string, error: string): void {
    const current = this.#base(key);
    if (current?.status.errors?.length === 1 && current.status.errors[0] === error) return;
    this.#entry(key).error = error;
  }

  forget(key: string): void {
    this.#pending.delete(key);
    this.#written.delete(key);
  }

  /** Writes what is pending; one flush at a time. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #entry(key: string): Pending {
    let p = this.#pending.get(key);
    if (!p) this.#pending.set(key, p = { success: 0, fail: 0 });
    return p;
  }

  /** The newer of the informer's copy and the one this writer last wrote. */
  #base(key: string): RuleSnapshot | undefined {
    const cached = this.#o.current(key);
    const written = this.#written.get(key);
    if (!cached) return undefined;
    if (written && compareResourceVersion(written.resourceVersion, cached.resourceVersion) > 0) {
      return written;
    }
    return cached;
  }

  async #flushAll(): Promise<void> {
    for (const [key, p] of [...this.#pending]) {
      this.#pending.delete(key);
      const base = this.#base(key);
      if (!base) continue;
      const status = {
        successMessages: (base.status.successMessages ?? 0) + p.success,
        failMessages: (base.status.failMessages ?? 0) + p.fail,
        errors: p.error !== undefined ? [p.error] : (base.status.errors ?? []),
      };
      try {
        const written = await this.#o.patch(key, {
          metadata: { resourceVersion: base.resourceVersion },
          status,
        });
        this.#written.set(key, written);
        this.#o.onWrite?.("ok");
      } catch (error) {
        if (this.#o.isGone(error)) continue;
        const conflict = this.#o.isConflict(error);
        this.#o.onWrite?.(conflict ? "conflict" : "error");
        // Keep the counts (under any counted meanwhile) for the next write.
        const again = this.#entry(key);
        again.success += p.success;
        again.fail += p.fail;
        again.error ??= p.error;
        if (!conflict && Date.now() - this.#warnedAt > WARN_INTERVAL_MS) {
          this.#warnedAt = Date.now();
          this.#o.log.warn("rule status not written", { rule: key, error });
        }
      }
    }
  }
}
