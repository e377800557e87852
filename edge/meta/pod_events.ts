/**
 * The pod manager's events, sent to the cloud as KubeEdge's edged sends them: `insert <ns>/event/<name>`
 * (group meta, source edged) with the v1 Event the kubelet's recorder makes, fire and forget (KubeEdge's
 * cloud never answers it). Bounded, as events are worth less than anything else the edge sends: while
 * offline at most EVENT_HOLD_LIMIT wait (the oldest are dropped and counted); the same event about the same
 * pod is not sent again within EVENT_REPEAT_WINDOW_MS, and at most SIMILAR_EVENT_LIMIT of one reason about
 * one container in that window (a crash-looping pod must not flood the apiserver; the kubelet's
 * EventCorrelator aggregates such events instead).
 */
import type { Logger } from "../../lib/log.ts";
import { buildResource, type Message, newMessage } from "../../lib/protocol/mod.ts";
import type { EventContainer, EventPod, EventRecorder, EventType } from "../pods/events.ts";

export const EVENT_HOLD_LIMIT = 100;
export const EVENT_REPEAT_WINDOW_MS = 5 * 60_000;
export const SIMILAR_EVENT_LIMIT = 10;
/** The events.k8s.io note limit; a runtime error can be longer. */
const MAX_MESSAGE_LENGTH = 1024;
/** Keys remembered for the repeat window; past it, expired ones go first, then the oldest. */
const MAX_REMEMBERED = 4_096;
const MAX_NAME_LENGTH = 253;

export interface EventUplink {
  readonly connected: boolean;
  /** Throws when the message cannot even be queued. */
  send(message: Message): void;
}

interface Seen {
  since: number;
  count: number;
}

export class PodEventUplink implements EventRecorder {
  readonly #held: Message[] = [];
  readonly #repeats = new Map<string, Seen>();
  readonly #similar = new Map<string, Seen>();
  #lastNanos = 0n;
  #dropped = 0;

  constructor(
    private readonly uplink: EventUplink,
    private readonly nodeName: string,
    private readonly log: Logger,
    /** Milliseconds since the epoch, finer than 1 ms where the clock allows (event names). */
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {}

  /** Events dropped unsent: held too long offline, or not valid as a resource. */
  get dropped(): number {
    return this.#dropped;
  }

  record(
    pod: EventPod,
    container: EventContainer | undefined,
    type: EventType,
    reason: string,
    message: string,
  ): void {
    const now = this.now();
    const fieldPath = container &&
      `spec.${container.type === "init" ? "initContainers" : "containers"}{${container.name}}`;
    const text = message.length > MAX_MESSAGE_LENGTH
      ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...`
      : message;
    if (!this.#first(this.#repeats, JSON.stringify([pod.uid, fieldPath, reason, text]), now, 1)) return;
    if (!this.#first(this.#similar, JSON.stringify([pod.uid, fieldPath, reason]), now, SIMILAR_EVENT_LIMIT)) {
      return;
    }
    const namespace = pod.namespace || "default";
    const name = this.#eventName(pod.name, now);
    const time = new Date(Math.floor(now)).toISOString().slice(0, 19) + "Z";
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        kind: "Pod",
        namespace,
        name: pod.name,
        uid: pod.uid,
        apiVersion: "v1",
        ...(pod.resourceVersion ? { resourceVersion: pod.resourceVersion } : {}),
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message: text,
      source: { component: "kubelet", host: this.nodeName },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      type,
      reportingComponent: "kubelet",
      reportingInstance: this.nodeName,
    };
    let resource: string;
    try {
      resource = buildResource({ namespace, type: "event", name });
    } catch (error) {
      this.#dropped++;
      this.log.info("event not sent", { pod: pod.name, reason, error });
      return;
    }
    this.#held.push(
      newMessage({ source: "edged", group: "meta", operation: "insert", resource, content: event }),
    );
    if (this.#held.length > EVENT_HOLD_LIMIT) {
      this.#held.shift();
      if (++this.#dropped % 100 === 1) {
        this.log.info("events dropped while offline", { dropped: this.#dropped, held: EVENT_HOLD_LIMIT });
      }
    }
    this.flush();
  }

  /** Sends the held events, oldest first, while connected; those the hub cannot take wait for the next call. */
  flush(): void {
    while (this.#held.length > 0 && this.uplink.connected) {
      try {
        this.uplink.send(this.#held[0]!);
      } catch (error) {
        this.log.debug("event held", { error });
        return;
      }
      this.#held.shift();
    }
  }

  /** Forgets what was sent about a pod that is gone: its UID never comes again. */
  forget(uid: string): void {
    const prefix = JSON.stringify([uid]).slice(0, -1) + ",";
    for (const seen of [this.#repeats, this.#similar]) {
      for (const key of seen.keys()) if (key.startsWith(prefix)) seen.delete(key);
    }
  }

  /** Keys remembered now (for tests): they must not grow with every pod that came and went. */
  get remembered(): number {
    return this.#repeats.size + this.#similar.size;
  }

  /** Whether `key` is seen fewer than `limit` times in the window (and counts it); false: leave it out. */
  #first(seen: Map<string, Seen>, key: string, now: number, limit: number): boolean {
    // Entries are in the order of their `since` (a renewed key is moved to the end), so the expired ones are
    // first: dropped here, not only once MAX_REMEMBERED are held (each pod created and deleted left its
    // keys until then, kilobytes a pod).
    for (const [k, e] of seen) {
      if (now - e.since < EVENT_REPEAT_WINDOW_MS) break;
      seen.delete(k);
    }
    const entry = seen.get(key);
    if (entry && now - entry.since < EVENT_REPEAT_WINDOW_MS) {
      if (entry.count >= limit) return false;
      entry.count++;
      return true;
    }
    seen.delete(key);
    seen.set(key, { since: now, count: 1 });
    if (seen.size > MAX_REMEMBERED) {
      for (const [k, e] of seen) if (now - e.since >= EVENT_REPEAT_WINDOW_MS) seen.delete(k);
      while (seen.size > MAX_REMEMBERED) seen.delete(seen.keys().next().value!);
    }
    return true;
  }

  /** `<pod>.<hex nanoseconds>` as the kubelet names events, unique even within one clock tick. */
  #eventName(podName: string, now: number): string {
    let nanos = BigInt(Math.floor(now * 1000)) * 1000n;
    if (nanos <= this.#lastNanos) nanos = this.#lastNanos + 1n;
    this.#lastNanos = nanos;
    const name = `${podName}.${nanos.toString(16)}`;
    return name.length <= MAX_NAME_LENGTH ? name : crypto.randomUUID();
  }
}
