// Changes to the store as watch events. The store has no change log of its own, so the feed diffs what it
// holds (by key and resourceVersion) on `notify()` and every `pollMs` while someone watches. Events carry the
// cloud's resourceVersions; a delete, whose final resourceVersion the store never sees, gets the newest one
// known plus one. The last `maxEvents` are kept for watches that resume from a resourceVersion.
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

export class ChangeFeed {
  readonly #store: EdgeStore;
  readonly #types: readonly string[];
  readonly #maxEvents: number;
  #snapshot = new Map<string, Entry & { type: string }>();
  #events: ChangeEvent[] = [];
  /** Oldest resourceVersion a resumed watch can start from without missing events. */
  #floor = "0";
  #latest = "0";
  readonly #listeners = new Set<(event: ChangeEvent) => void>();

  constructor(store: EdgeStore, types: readonly string[], maxEvents = 1000) {
    this.#store = store;
    this.#types = types;
    this.#maxEvents = maxEvents;
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

  /** Events after `rv`, or undefined when they are no longer kept (the watch must relist: 410). */
  since(rv: string): ChangeEvent[] | undefined {
    if (compareResourceVersion(rv, this.#floor) < 0) return undefined;
    return this.#events.filter((e) => compareResourceVersion(e.resourceVersion, rv) > 0);
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
    for (const event of events) {
      this.#events.push(event);
      for (const listener of this.#listeners) listener(event);
    }
    if (this.#events.length > this.#maxEvents) {
      const dropped = this.#events.splice(0, this.#events.length - this.#maxEvents);
      this.#floor = dropped[dropped.length - 1]?.resourceVersion ?? this.#floor;
    }
  }
}
