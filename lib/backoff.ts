/** Reconnect delays: exponential with full jitter (a random delay between 0 and the capped ceiling). */

export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly initialMs: number;
  /** Largest ceiling. */
  readonly capMs: number;
  /** [0, 1); tests pass a fixed one. */
  readonly random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.capMs >= options.initialMs)) {
      throw new RangeError("Cannot create backoff: need 0 < initialMs <= capMs");
    }
    this.#initialMs = options.initialMs;
    this.#capMs = options.capMs;
    this.#random = options.random ?? Math.random;
  }

  /** The ceiling of the next delay, without using it. */
  get ceilingMs(): number {
    // 2^attempt stops growing once past the cap, so the exponent never overflows.
    return Math.min(this.#capMs, this.#initialMs * 2 ** this.#attempt);
  }

  /** The next delay, uniformly random in [0, ceiling). */
  next(): number {
    const ceiling = this.ceilingMs;
    if (ceiling < this.#capMs) this.#attempt++;
    return Math.floor(this.#random() * ceiling);
  }

  /** Back to the first ceiling, after a connection succeeded. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Waits `ms`, or less when `signal` aborts; true when the full time passed. The timer is cleared on abort,
 * so nothing is left pending.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
