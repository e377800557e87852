/**
 * List, then watch from the list's resourceVersion, for as long as cloudcore runs: the client-go reflector's
 * contract, kept small. Every watch ends sooner or later (the apiserver closes it after
 * --min-request-timeout on purpose, a connection drops, the apiserver or etcd restarts, a resourceVersion
 * falls out of the watch window): each end is counted and resumed from the last resourceVersion seen
 * (bookmarks keep it fresh while nothing changes), a `410 Gone` relists, and a watch that sends nothing for
 * `staleAfterMs` is treated as dead. Nothing ends silently.
 */
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { ObjectStore } from "./object_store.ts";
import type { WatchOpener, WatchStreamEnd } from "./watch_stream.ts";
import type { ReflectorMetrics } from "./reflector_metrics.ts";

export type WatchEvent = "add" | "update" | "delete";

/** Why a watch ended (the `reason` label of kedge_cloud_watch_restarts_total). */
export type RestartReason = "closed" | "gone" | "error" | "stale" | "list_error";

export interface ReflectorSpec<T extends KubernetesObject> {
  /** Name in logs and metrics: "pods", "devices". */
  readonly resource: string;
  /** The collection's path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly labelSelector?: string;
  /** A full list, items with kind and apiVersion set, and the list's resourceVersion. */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly handler: (event: WatchEvent, object: T) => void;
}

export interface ReflectorTiming {
  /** First retry delay after a failure; doubles up to maxBackoffMs, with jitter. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** A watch that delivers no byte (event or bookmark) for this long is restarted. */
  readonly staleAfterMs: number;
}

/**
 * Bookmarks come about once a minute, so a watch silent for 2.5 minutes is dead. Retries stop growing at 4 s
 * (2-6 s with jitter): a cloudcore holds a handful of watches, so that costs the apiserver little, and an
 * apiserver back from a restart is heard within seconds, not after a 30 s backoff step.
 */
export const DEFAULT_REFLECTOR_TIMING: ReflectorTiming = {
  initialBackoffMs: 500,
  maxBackoffMs: 4_000,
  staleAfterMs: 150_000,
};

export class Reflector<T extends KubernetesObject> {
  readonly store = new ObjectStore<T>();
  readonly resource: string;
  readonly #spec: ReflectorSpec<T>;
  readonly #open: WatchOpener;
  readonly #timing: ReflectorTiming;
  readonly #log: Logger;
  readonly #metrics: ReflectorMetrics;
  readonly #stop = new AbortController();
  #resourceVersion = "";
  #watching = false;
  #lastSyncAt = 0;
  #loop?: Promise<void>;

  constructor(
    spec: ReflectorSpec<T>,
    open: WatchOpener,
    deps: { log: Logger; metrics: ReflectorMetrics; timing?: Partial<ReflectorTiming> },
  ) {
    this.#spec = spec;
    this.resource = spec.resource;
    this.#open = open;
    this.#timing = { ...DEFAULT_REFLECTOR_TIMING, ...deps.timing };
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    deps.metrics.track(this);
  }

  /** True while a watch is open (or being resumed after a routine close): changes reach the handler. */
  get watching(): boolean {
    return this.#watching;
  }

  /** When the apiserver last showed this watch alive (a list, a watch opened, an event or a bookmark). */
  get lastSyncAt(): number {
    return this.#lastSyncAt;
  }

  /** Lists until a list succeeds (retrying with backoff), then keeps watching in the background. */
  async start(): Promise<void> {
    let backoff = this.#timing.initialBackoffMs;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#relist();
        break;
      } catch (error) {
        this.#ended("list_error", error);
        await this.#sleep(backoff);
        backoff = this.#next(backoff);
      }
    }
    this.#loop = this.#watchLoop();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
    this.#watching = false;
  }

  async #watchLoop(): Promise<void> {
    let backoff = this.#timing.initialBackoffMs;
    while (!this.#stop.signal.aborted) {
      let end: WatchStreamEnd;
      try {
        if (this.#resourceVersion === "") await this.#relist();
        end = await this.#watchOnce();
      } catch (error) {
        end = { reason: this.#resourceVersion === "" ? "list_error" : "error", error };
      }
      // A routine close is resumed at once and keeps the reflector live; anything else is not live until the
      // next watch opens.
      if (end.reason !== "closed") this.#watching = false;
      if (this.#stop.signal.aborted) return;
      this.#ended(end.reason, end.error);
      if (end.reason === "gone") this.#resourceVersion = "";
      if (end.delivered) backoff = this.#timing.initialBackoffMs;
      // The apiserver closing a healthy watch is routine: resume at once. Anything else waits, with jitter,
      // so that a thousand watches do not come back in the same millisecond.
      if (end.reason === "closed") continue;
      await this.#sleep(backoff);
      backoff = this.#next(backoff);
    }
  }

  #watchOnce(): Promise<WatchStreamEnd> {
    const params: Record<string, string> = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: "true",
    };
    if (this.#spec.labelSelector !== undefined) params.labelSelector = this.#spec.labelSelector;
    return this.#open({
      path: this.#spec.path,
      params,
      staleAfterMs: this.#timing.staleAfterMs,
      signal: this.#stop.signal,
      onOpen: () => {
        this.#watching = true;
        this.#lastSyncAt = Date.now();
      },
      onEvent: (type, object) => this.#apply(type, object as T),
    });
  }

  /** One watch event; returns false for a 410 (the caller relists). */
  #apply(type: string, object: T): boolean {
    this.#lastSyncAt = Date.now();
    const version = object.metadata?.resourceVersion;
    switch (type) {
      case "ADDED":
      case "MODIFIED":
        this.#emit(this.store.upsert(object) === "added" ? "add" : "update", object);
        break;
      case "DELETED":
        this.store.remove(object);
        this.#emit("delete", object);
        break;
      case "BOOKMARK":
        break;
      case "ERROR":
        // A Status object: 410 means our resourceVersion left the watch window.
        return (object as unknown as { code?: number }).code !== 410;
      default:
        return true;
    }
    if (version) this.#resourceVersion = version;
    return true;
  }

  /** Lists and replaces the store; what vanished since the last list is delivered as deleted. */
  async #relist(): Promise<void> {
    const list = await this.#spec.list();
    const { added, updated, deleted } = this.store.replace(list.items ?? []);
    for (const object of deleted) this.#emit("delete", object);
    for (const object of added) this.#emit("add", object);
    for (const object of updated) this.#emit("update", object);
    this.#metrics.listed(this.resource);
    this.#resourceVersion = list.metadata?.resourceVersion ?? "";
    this.#lastSyncAt = Date.now();
  }

  #emit(event: WatchEvent, object: T): void {
    try {
      this.#spec.handler(event, object);
    } catch (error) {
      this.#log.error("informer handler failed", { resource: this.resource, event, error });
    }
  }

  #ended(reason: RestartReason, error?: unknown): void {
    this.#metrics.restarted(this.resource, reason);
    this.#metrics.warn(this.#log, this.resource, reason, error);
  }

  #next(backoff: number): number {
    return Math.min(backoff * 2, this.#timing.maxBackoffMs);
  }

  /** Sleeps `ms` with ±50 % jitter; stop() wakes it. */
  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve();
    const jittered = ms * (0.5 + Math.random());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, jittered);
      signal.addEventListener("abort", done);
    });
  }
}
