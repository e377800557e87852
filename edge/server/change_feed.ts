// Changes to the store as watch events. The store has no change log of its own, so the feed diffs what it
// holds (by key and resourceVersion) on `notify()` and every `pollMs` while someone watches. Events carry the
// cloud's resourceVersions; a delete, whose final resourceVersion the store never sees, gets the newest one
// known plus one. For watches that resume from a resourceVersion the feed keeps the last `maxEvents`, and
// only those younger than `maxAgeMs` (75 s, as the apiserver's watch cache keeps its events fresh): each
// event holds whole objects (a pod with its managedFields, and the version before it), so a count alone
// let every pod created and deleted add its events to the heap until a thousand were held (bench/README.md,
// "edgecore memory per pod cycle"). A watch from before the oldest kept event gets 410 and relists.
import { compareResourceVersion } from "../../lib/protocol/mod.ts";
import type { EdgeStore } from "../store/mod.ts";
import type { KubeObject } from "./selectors.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ChangeEvent {
  readonly type: EventType;
  readonly storeType: string;
  readonly object: KubeObject;
  /** The object before a MODIFIED, to tell when it left or entered a selector. */
  readonly previous?: KubeObject;
  readonly resourceVersion: string;
}

interface Entry {
  rv: string;
  value: KubeObject;
}

export interface ChangeFeedLimits {
  /** Events kept for resumed watches at most. Default 1000. */
  readonly maxEvents?: number;
  /** Events older than this are dropped on the next scan. Default 75 s. */
  readonly maxAgeMs?: number;
  /** Milliseconds, for the events' age; tests pass their own clock. */
  readonly now?: () => number;
}

export class ChangeFeed {
  readonly #store: EdgeStore;
  readonly #types: readonly string[];
  readonly #maxEvents: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #snapshot = new Map<string, Entry & { type: string }>();
  #events: ChangeEvent[] = [];
  /** When each of #events was emitted, in the same order. */
  #times: number[] = [];
  /** Oldest resourceVersion a resumed watch can start from without missing events. */
  #floor = "0";
  /** Per store type, the resourceVersion of its newest dropped event: a watch of that type from before it
   * missed something; a watch of another type did not (its informer need not relist because pods churned). */
  readonly #typeFloors = new Map<string, string>();
  #latest = "0";
  readonly #listeners = new Set<(event: ChangeEvent) => void>();

  constructor(store: EdgeStore, types: readonly string[], limits: ChangeFeedLimits = {}) {
    this.#store = store;
    this.#types = types;
    this.#maxEvents = limits.maxEvents ?? 1000;
    this.#maxAgeMs = limits.maxAgeMs ?? 75_000;
    this.#now = limits.now ?? Date.now;
    this.scan(false);
    this.#floor = this.#latest;
  }

  /** The newest resourceVersion held: a list's resourceVersion. */
  get latest(): string {
    return this.#latest;
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get watching(): number {
    return this.#listeners.size;
  }

  /**
   * Events after `rv` (of `storeType` only, when given), or undefined when some of them are no longer kept
   * (the watch must relist: 410).
   */
  since(rv: string, storeType?: string): ChangeEvent[] | undefined {
    if (compareResourceVersion(rv, this.#floor) < 0) return undefined;
    const floors = storeType === undefined
      ? [...this.#typeFloors.values()]
      : [this.#typeFloors.get(storeType)];
    if (floors.some((floor) => floor !== undefined && compareResourceVersion(rv, floor) < 0)) {
      return undefined;
    }
    return this.#events.filter((e) =>
      (storeType === undefined || e.storeType === storeType) &&
      compareResourceVersion(e.resourceVersion, rv) > 0
    );
  }

  /** Compares the store with the last snapshot; emits what changed. */
  scan(emit = true): void {
    const next = new Map<string, Entry & { type: string }>();
    for (const type of this.#types) {
      for (const stored of this.#store.list<KubeObject>(type)) {
        next.set(stored.key, { rv: stored.resourceVersion, value: stored.value, type });
        if (compareResourceVersion(stored.resourceVersion, this.#latest) > 0) {
          this.#latest = stored.resourceVersion;
        }
      }
    }
    const events: ChangeEvent[] = [];
    for (const [key, entry] of next) {
      const old = this.#snapshot.get(key);
      if (!old) {
        events.push({ type: "ADDED", storeType: entry.type, object: entry.value, resourceVersion: entry.rv });
      } else if (old.rv !== entry.rv) {
        events.push({
          type: "MODIFIED",
          storeType: entry.type,
          object: entry.value,
          previous: old.value,
          resourceVersion: entry.rv,
        });
      }
    }
    for (const [key, old] of this.#snapshot) {
      if (next.has(key)) continue;
      this.#latest = (BigInt(/^\d+$/.test(this.#latest) ? this.#latest : "0") + 1n).toString();
      const object = { ...old.value, metadata: { ...old.value.metadata, resourceVersion: this.#latest } };
      events.push({ type: "DELETED", storeType: old.type, object, resourceVersion: this.#latest });
    }
    this.#snapshot = next;
    if (!emit) return;
    events.sort((a, b) => compareResourceVersion(a.resourceVersion, b.resourceVersion));
    const now = this.#now();
    for (const event of events) {
      this.#events.push(event);
      this.#times.push(now);
      for (const listener of this.#listeners) listener(event);
    }
    this.#expire(now);
  }

  /** Drops the events past the count or older than the age limit; each type's floor moves past its own. */
  #expire(now: number): void {
    let drop = Math.max(0, this.#events.length - this.#maxEvents);
    while (drop < this.#times.length && now - this.#times[drop]! > this.#maxAgeMs) drop++;
    if (drop === 0) return;
    for (const event of this.#events.splice(0, drop)) {
      this.#typeFloors.set(event.storeType, event.resourceVersion);
    }
    this.#times.splice(0, drop);
  }
}
