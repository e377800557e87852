/**
 * Per-key exponential backoff, as the kubelet's crash-loop and image-pull backoff: the first attempt is
 * free, each later one waits `initialMs` doubling up to `maxMs`, counted from the last failure. An entry
 * idle for twice `maxMs` is forgotten, so a container that ran long enough starts over at `initialMs`.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly now?: () => number;
}

interface Entry {
  delayMs: number;
  /** When the last failure happened. */
  at: number;
}

export class Backoff {
  readonly #entries = new Map<string, Entry>();
  readonly #initial: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: BackoffOptions) {
    this.#initial = options.initialMs;
    this.#max = options.maxMs;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds left before `key` may try again after a failure at `since` (0: go). */
  remaining(key: string, since?: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    const now = this.#now();
    const from = Math.max(entry.at, since ?? 0);
    if (now - from > 2 * this.#max) {
      this.#entries.delete(key);
      return 0;
    }
    return Math.max(0, from + entry.delayMs - now);
  }

  /** Records a failure (or a restart) of `key` at `at`: the next wait doubles. */
  next(key: string, at = this.#now()): void {
    const entry = this.#entries.get(key);
    const delayMs = entry ? Math.min(entry.delayMs * 2, this.#max) : this.#initial;
    this.#entries.set(key, { delayMs, at });
  }

  /** The current wait for `key`, or 0. */
  delay(key: string): number {
    return this.#entries.get(key)?.delayMs ?? 0;
  }

  reset(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a deleted pod). */
  forget(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }
}
