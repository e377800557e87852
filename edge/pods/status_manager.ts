/**
 * The status manager, as the kubelet's status_manager.go: keeps the newest status of each pod with a
 * version, tells the sink only when a status really changed, and re-sends everything periodically so a
 * sink that lost an update (a cloud that was offline) catches up.
 */
import type { PodRef, PodStatus } from "./status_types.ts";

export interface PodStatusSink {
  /** A pod's status changed (or a periodic resync re-sends it). `version` grows per pod. */
  podStatusChanged(pod: PodRef, status: PodStatus, version: number): void;
  /** The pod is gone from the node. */
  podRemoved(pod: PodRef): void;
}

interface Entry {
  ref: PodRef;
  status: PodStatus;
  json: string;
  version: number;
}

export class StatusManager {
  readonly #entries = new Map<string, Entry>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly sink: PodStatusSink | undefined, resyncMs: number) {
    if (sink) this.#timer = setInterval(() => this.resync(), resyncMs);
  }

  get(uid: string): PodStatus | undefined {
    return this.#entries.get(uid)?.status;
  }

  refs(): PodRef[] {
    return [...this.#entries.values()].map((e) => e.ref);
  }

  /** Records `status`; returns true (and tells the sink) when it differs from the last one. */
  set(ref: PodRef, status: PodStatus): boolean {
    const json = JSON.stringify(status);
    const old = this.#entries.get(ref.uid);
    if (old?.json === json) return false;
    const entry = { ref, status, json, version: (old?.version ?? 0) + 1 };
    this.#entries.set(ref.uid, entry);
    this.sink?.podStatusChanged(ref, status, entry.version);
    return true;
  }

  remove(uid: string): void {
    const entry = this.#entries.get(uid);
    if (!entry) return;
    this.#entries.delete(uid);
    this.sink?.podRemoved(entry.ref);
  }

  resync(): void {
    for (const e of this.#entries.values()) this.sink?.podStatusChanged(e.ref, e.status, e.version);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
