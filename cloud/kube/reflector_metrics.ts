/**
 * What cloudcore's watches show from outside: restarts by resource and reason, the age of each one's last
 * sign of life, a warn line per restart (at most one a minute per resource, with how many it folded in),
 * and readiness: a resource whose watch is not open makes /readyz fail, naming it.
 */
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";

export interface TrackedReflector {
  readonly resource: string;
  readonly watching: boolean;
  readonly lastSyncAt: number;
}

/** One warn line per resource per this long; the rest are counted into the next line. */
export const WARN_INTERVAL_MS = 60_000;

export class ReflectorMetrics {
  readonly #reflectors: TrackedReflector[] = [];
  readonly #restarts;
  readonly #lists;
  readonly #warned = new Map<string, { at: number; folded: number }>();

  constructor(registry: Registry) {
    this.#restarts = registry.counter(
      "kedge_cloud_watch_restarts_total",
      "Watches of the apiserver that ended and were resumed, by resource and reason.",
    );
    this.#lists = registry.counter(
      "kedge_cloud_informer_lists_total",
      "Full lists of a resource: one at start, then one after each 410 Gone or failed resume.",
    );
    const age = registry.gauge(
      "kedge_cloud_informer_last_sync_age_seconds",
      "Seconds since the apiserver last showed a watch alive (list, watch opened, event or bookmark).",
    );
    registry.onCollect(() => {
      const now = Date.now();
      for (const r of this.#reflectors) {
        age.set(r.lastSyncAt === 0 ? NaN : (now - r.lastSyncAt) / 1000, { resource: r.resource });
      }
    });
  }

  track(reflector: TrackedReflector): void {
    this.#reflectors.push(reflector);
    this.#restarts.labels({ resource: reflector.resource, reason: "closed" });
  }

  listed(resource: string): void {
    this.#lists.inc({ resource });
  }

  restarted(resource: string, reason: string): void {
    this.#restarts.inc({ resource, reason });
  }

  warn(log: Logger, resource: string, reason: string, error?: unknown): void {
    const now = Date.now();
    const last = this.#warned.get(resource);
    if (last && now - last.at < WARN_INTERVAL_MS) {
      last.folded++;
      return;
    }
    this.#warned.set(resource, { at: now, folded: 0 });
    log.warn("watch ended, resuming", { resource, reason, error, endedSinceLastLine: last?.folded ?? 0 });
  }

  /** Readiness checks, one per resource: "watch:pods": true while its watch is open. */
  checks(): Record<string, boolean> {
    const checks: Record<string, boolean> = {};
    for (const r of this.#reflectors) checks[`watch:${r.resource}`] = r.watching;
    return checks;
  }
}
