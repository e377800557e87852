/**
 * What a simulated edge holds, kept exactly as edge/store and edge/meta/apply.ts keep it: one entry per wire
 * resource (uid, resourceVersion); insert and update store unless the same uid is held at the same or a
 * newer resourceVersion, another uid under the same resource replaces it, a delete removes the entry only
 * when its uid matches (or the delete names none); patch and anything else change nothing.
 */
import { compareResourceVersion } from "../lib/protocol/mod.ts";
import type { HeldObject } from "./edge_sim_messages.ts";

export interface HeldEntry {
  readonly uid: string;
  readonly resourceVersion: string;
  /** The object carries a deletionTimestamp (a pod the cloud asked to delete). */
  readonly terminating: boolean;
}

export type ApplyResult =
  | { readonly outcome: "stored"; readonly entry: HeldEntry; readonly replacedUid?: string }
  | { readonly outcome: "deleted"; readonly uid: string }
  | { readonly outcome: "unchanged" };

export class HeldStore {
  readonly #held = new Map<string, HeldEntry>();

  get(key: string): HeldEntry | undefined {
    return this.#held.get(key);
  }

  entries(): IterableIterator<[string, HeldEntry]> {
    return this.#held.entries();
  }

  /** As the edge reports them on (re)connect. */
  objects(): HeldObject[] {
    return [...this.#held].map(([resource, h]) => ({
      uid: h.uid,
      resourceVersion: h.resourceVersion,
      resource,
    }));
  }

  /** Applies `operation` of `content` under `key`; `headerVersion` is header.resourceversion. */
  apply(operation: string, key: string, content: unknown, headerVersion?: string): ApplyResult {
    const meta = (content as { metadata?: Record<string, unknown> } | null)?.metadata ?? {};
    const uid = typeof meta.uid === "string" ? meta.uid : undefined;
    if (operation === "delete") {
      const existing = this.#held.get(key);
      if (!existing || (uid !== undefined && existing.uid !== uid)) return { outcome: "unchanged" };
      this.#held.delete(key);
      return { outcome: "deleted", uid: existing.uid };
    }
    if (operation !== "insert" && operation !== "update") return { outcome: "unchanged" };
    const rv = typeof meta.resourceVersion === "string" ? meta.resourceVersion : headerVersion;
    if (!uid || !rv || !/^\d+$/.test(rv)) return { outcome: "unchanged" };
    // edge/store put(): the entry with this uid (else the one under this resource).
    let existingKey: string | undefined = this.#held.get(key)?.uid === uid ? key : undefined;
    for (const [k, h] of this.#held) if (existingKey === undefined && h.uid === uid) existingKey = k;
    const existing = existingKey === undefined ? undefined : this.#held.get(existingKey);
    if (existing && compareResourceVersion(rv, existing.resourceVersion) <= 0) {
      return { outcome: "unchanged" };
    }
    if (existingKey !== undefined && existingKey !== key) this.#held.delete(existingKey);
    const replaced = this.#held.get(key);
    const entry = { uid, resourceVersion: rv, terminating: typeof meta.deletionTimestamp === "string" };
    this.#held.set(key, entry);
    return {
      outcome: "stored",
      entry,
      ...(replaced && replaced.uid !== uid ? { replacedUid: replaced.uid } : {}),
    };
  }
}
