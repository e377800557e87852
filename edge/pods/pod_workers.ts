/**
 * One worker per pod UID, as the kubelet's pod_workers.go: work for a pod runs one at a time; while it
 * runs, newer work replaces older pending work (the latest update wins), except that a pending kill is
 * never replaced by a sync. After each run the worker schedules its next sync (a backoff ending, or the
 * periodic resync); `poke` runs it sooner (CRI state changed, a probe flipped, an object changed).
 */
import type { Logger } from "../../lib/log.ts";
import type { Pod } from "./pod_schema.ts";

export type PodWork =
  | { readonly kind: "sync"; readonly pod: Pod }
  | {
    readonly kind: "kill";
    readonly pod: Pod;
    readonly gracePeriodSeconds: number;
    readonly remove: boolean;
    /** The pod object still exists (deleting, not deleted): its terminal status goes up before it is gone. */
    readonly reportTerminal?: boolean;
  };

export type RunWork = (uid: string, work: PodWork) => Promise<{ requeueMs?: number }>;

interface Worker {
  pending?: PodWork;
  last?: PodWork;
  running: boolean;
  timer?: ReturnType<typeof setTimeout>;
  failures: number;
  done: boolean;
}

export class PodWorkers {
  readonly #workers = new Map<string, Worker>();
  #stopped = false;

  constructor(
    private readonly run: RunWork,
    private readonly log: Logger,
    private readonly resyncMs: number,
  ) {}

  dispatch(uid: string, work: PodWork): void {
    if (this.#stopped) return;
    let w = this.#workers.get(uid);
    if (!w) {
      w = { running: false, failures: 0, done: false };
      this.#workers.set(uid, w);
    }
    if (w.done) return;
    if (work.kind === "sync" && (w.pending?.kind === "kill" || (w.running && w.last?.kind === "kill"))) {
      return;
    }
    w.pending = work;
    this.#kick(uid, w);
  }

  /** Runs the pod's last work again soon. */
  poke(uid: string): void {
    const w = this.#workers.get(uid);
    if (!w || w.done || this.#stopped) return;
    if (!w.pending && w.last) w.pending = w.last;
    this.#kick(uid, w);
  }

  has(uid: string): boolean {
    return this.#workers.has(uid);
  }

  uids(): string[] {
    return [...this.#workers.keys()];
  }

  /** Stops scheduling; resolves when every running work has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#workers.values()) clearTimeout(w.timer);
    while ([...this.#workers.values()].some((w) => w.running)) await new Promise((r) => setTimeout(r, 20));
  }

  #kick(uid: string, w: Worker): void {
    if (w.running) return;
    clearTimeout(w.timer);
    w.running = true;
    queueMicrotask(() => this.#loop(uid, w));
  }

  async #loop(uid: string, w: Worker): Promise<void> {
    let next = this.resyncMs;
    while (w.pending && !this.#stopped) {
      const work = w.pending;
      w.pending = undefined;
      w.last = work;
      try {
        const result = await this.run(uid, work);
        w.failures = 0;
        next = Math.min(result.requeueMs ?? this.resyncMs, this.resyncMs);
        if (work.kind === "kill" && work.remove) {
          w.done = true;
          this.#workers.delete(uid);
        }
      } catch (err) {
        w.failures++;
        next = Math.min(1000 * 2 ** Math.min(w.failures - 1, 4), this.resyncMs);
        if (w.failures === 1 || w.failures % 10 === 0) {
          this.log.warn("pod sync failed", { uid, work: work.kind, failures: w.failures, error: err });
        }
      }
    }
    w.running = false;
    if (w.done || this.#stopped) return;
    if (w.pending) return this.#kick(uid, w);
    w.timer = setTimeout(() => this.poke(uid), next);
  }
}
