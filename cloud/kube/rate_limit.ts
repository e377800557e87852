/**
 * Client-side rate limiting of cloudcore's apiserver requests, as kubeAPIConfig.qps / burst mean in
 * KubeEdge (client-go's token bucket): `burst` requests at once, then `qps` a second. Requests that keep a
 * node alive (its Lease, its Node status) wait in a queue of their own that is served first, so a burst of
 * pod status patches never delays a Lease renewal past its deadline. Watches are long requests made with
 * fetch (watch_stream.ts) and are not counted; their lists are.
 */
import type { KubeConfig, RequestContext } from "@kubernetes/client-node";

export type Priority = "node" | "normal";

export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  readonly now?: () => number;
}

export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;
  readonly #queues: Record<Priority, Array<() => void>> = { node: [], normal: [] };
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Requests that had to wait, and for how long in all (seconds). */
  waited = 0;
  waitedSeconds = 0;

  constructor(options: RateLimiterOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new RangeError("Cannot rate-limit: need qps > 0, burst >= 1");
    }
    this.#qps = options.qps;
    this.#burst = Math.floor(options.burst);
    this.#now = options.now ?? performance.now.bind(performance);
    this.#tokens = this.#burst;
    this.#at = this.#now();
  }

  /** Resolves when the request may go. */
  take(priority: Priority = "normal"): Promise<void> {
    this.#refill();
    if (this.#tokens >= 1 && this.#queues.node.length === 0 && this.#queues.normal.length === 0) {
      this.#tokens--;
      return Promise.resolve();
    }
    const since = this.#now();
    return new Promise<void>((resolve) => {
      this.#queues[priority].push(() => {
        this.waited++;
        this.waitedSeconds += (this.#now() - since) / 1000;
        resolve();
      });
      this.#drain();
    });
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#qps);
    this.#at = now;
  }

  #drain(): void {
    this.#refill();
    while (this.#tokens >= 1) {
      const next = this.#queues.node.shift() ?? this.#queues.normal.shift();
      if (!next) return;
      this.#tokens--;
      next();
    }
    if (this.#timer !== undefined || (this.#queues.node.length === 0 && this.#queues.normal.length === 0)) {
      return;
    }
    const wait = ((1 - this.#tokens) / this.#qps) * 1000;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, Math.max(1, Math.ceil(wait)));
  }
}

/** Node-liveness requests: Leases in kube-node-lease and Node status. */
export function priorityOf(url: string): Priority {
  const path = new URL(url).pathname;
  if (path.includes("/namespaces/kube-node-lease/leases")) return "node";
  if (/^\/api\/v1\/nodes\/[^/]+\/status$/.test(path)) return "node";
  return "normal";
}

const LIMITED = Symbol("kedge.rateLimited");

/** The bucket {@link limitRequests} put on `kubeConfig`, if any. */
export function requestLimiterOf(kubeConfig: KubeConfig): TokenBucket | undefined {
  return (kubeConfig as KubeConfig & { [LIMITED]?: TokenBucket })[LIMITED];
}

/**
 * Every request made with `kubeConfig` (client-node calls it before each one) takes a token first.
 * Idempotent: the first limiter stays.
 */
export function limitRequests(kubeConfig: KubeConfig, bucket: TokenBucket): TokenBucket {
  const target = kubeConfig as KubeConfig & { [LIMITED]?: TokenBucket };
  if (target[LIMITED]) return target[LIMITED];
  const apply = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  kubeConfig.applySecurityAuthentication = async (context: RequestContext) => {
    await bucket.take(priorityOf(context.getUrl()));
    await apply(context);
  };
  target[LIMITED] = bucket;
  return bucket;
}
