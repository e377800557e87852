/**
 * One node's outgoing deliveries, keyed by object UID: at most one pending item per object, so a burst of
 * updates to one object costs one slot and one frame. The newest resourceVersion wins, a delete wins over
 * anything queued for its UID and is never replaced by an update, and an item stays until the edge acks
 * it (resent after `resendMs`, and again after every reconnect). Pure state, no I/O: the session decides
 * when to write.
 */
import { compareResourceVersion, isResourceVersion } from "../../lib/protocol/mod.ts";

/** One object delivery, already encoded so that a resend costs no work and an encode error hits the caller. */
export interface QueueEntry {
  readonly uid: string;
  /** The msg_id of `frame`; the edge's ack names it in parent_msg_id. */
  readonly msgId: string;
  /** Decimal digits; absent means "newer than anything queued" (arrival order decides). */
  readonly resourceVersion?: string;
  readonly isDelete?: boolean;
  /** The route's operation, for metrics and logs. */
  readonly operation: string;
  readonly frame: string;
}

/** queued: a new slot; replaced: took over the slot of an older item; ignored: older than what is known. */
export type EnqueueOutcome = "queued" | "replaced" | "ignored";

export interface SendQueueOptions {
  /** Most UIDs held at once; one more throws {@link QueueFullError}. */
  readonly limit: number;
  /** How long a written item waits for its ack before it is written again. */
  readonly resendMs: number;
  /** Most UIDs whose last acked version is remembered, so a stale update is not delivered after the ack. */
  readonly settledLimit?: number;
  /** Monotonic milliseconds; tests pass a fake clock. */
  readonly now?: () => number;
}

/** Thrown by {@link SendQueue.enqueue} when the queue holds `limit` UIDs; nothing is dropped silently. */
export class QueueFullError extends RangeError {
  override readonly name = "QueueFullError";
  constructor(readonly limit: number) {
    super(`Cannot queue delivery: the node's queue holds ${limit} objects, its limit`);
  }
}

interface Settled {
  readonly resourceVersion?: string;
  readonly deleted: boolean;
}

export class SendQueue {
  readonly #limit: number;
  readonly #resendMs: number;
  readonly #settledLimit: number;
  readonly #now: () => number;
  /** Every queued item by UID. */
  readonly #entries = new Map<string, QueueEntry>();
  /** UIDs to write, oldest first. */
  readonly #ready = new Set<string>();
  /** UIDs written and not acked -> when written; insertion order is write order, so the head expires first. */
  readonly #inflight = new Map<string, number>();
  /** msg_id of each queued item -> its UID; a late ack for a replaced item finds nothing. */
  readonly #byMsgId = new Map<string, string>();
  /** The last acked state per UID, least recently acked first. */
  readonly #settled = new Map<string, Settled>();

  constructor(options: SendQueueOptions) {
    for (const key of ["limit", "resendMs"] as const) {
      if (!Number.isSafeInteger(options[key]) || options[key] < 1) {
        throw new RangeError(`Cannot create send queue: ${key} must be a positive integer`);
      }
    }
    this.#limit = options.limit;
    this.#resendMs = options.resendMs;
    this.#settledLimit = options.settledLimit ?? options.limit;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Items held: written-and-unacked plus not yet written. */
  get size(): number {
    return this.#entries.size;
  }

  /** Items written and waiting for their ack. */
  get unacked(): number {
    return this.#inflight.size;
  }

  /** Items waiting to be written (new, replaced, or due for a resend). */
  get unsent(): number {
    return this.#ready.size;
  }

  /**
   * Adds `entry`, or lets it take over the slot of the item queued for the same UID when it is newer.
   * Throws RangeError for a malformed resourceVersion and {@link QueueFullError} when a new UID finds the
   * queue full.
   */
  enqueue(entry: QueueEntry): EnqueueOutcome {
    if (entry.resourceVersion !== undefined && !isResourceVersion(entry.resourceVersion)) {
      throw new RangeError(
        `Cannot queue delivery of ${entry.uid}: resourceVersion ${
          JSON.stringify(entry.resourceVersion.slice(0, 80))
        } is not decimal digits`,
      );
    }
    const current = this.#entries.get(entry.uid);
    if (current) {
      if (!supersedes(entry, current)) return "ignored";
      this.#byMsgId.delete(current.msgId);
      this.#inflight.delete(entry.uid);
      this.#ready.delete(entry.uid);
      this.#put(entry);
      return "replaced";
    }
    const settled = this.#settled.get(entry.uid);
    if (settled && isStale(entry, settled)) return "ignored";
    if (this.#entries.size >= this.#limit) throw new QueueFullError(this.#limit);
    this.#put(entry);
    return "queued";
  }

  /** The next item to write, now counted as in flight; undefined when nothing is due. */
  take(): QueueEntry | undefined {
    const uid = this.#ready.values().next().value;
    if (uid === undefined) return undefined;
    this.#ready.delete(uid);
    this.#inflight.set(uid, this.#now());
    return this.#entries.get(uid);
  }

  /** Settles the item written as `msgId`. False when no queued item has that id (late or unknown ack). */
  ack(msgId: string): boolean {
    const uid = this.#byMsgId.get(msgId);
    if (uid === undefined) return false;
    const entry = this.#entries.get(uid);
    this.#byMsgId.delete(msgId);
    this.#entries.delete(uid);
    this.#inflight.delete(uid);
    this.#ready.delete(uid);
    if (entry) this.#remember(entry);
    return true;
  }

  /** Whether an item with this msg_id is queued. */
  has(msgId: string): boolean {
    return this.#byMsgId.has(msgId);
  }

  /** Moves items whose ack is overdue back to the ready list; returns how many. */
  expire(): number {
    const deadline = this.#now() - this.#resendMs;
    let moved = 0;
    for (const [uid, sentAt] of this.#inflight) {
      if (sentAt > deadline) break;
      this.#inflight.delete(uid);
      this.#ready.add(uid);
      moved++;
    }
    return moved;
  }

  /** When the oldest unacked item falls due for a resend (the queue's clock), or undefined. */
  nextResendAt(): number | undefined {
    const first = this.#inflight.values().next();
    return first.done ? undefined : first.value + this.#resendMs;
  }

  /** After a reconnect: every unacked item is written again, ahead of the items never written. */
  requeueAll(): void {
    const order = [...this.#inflight.keys(), ...this.#ready];
    this.#inflight.clear();
    this.#ready.clear();
    for (const uid of order) this.#ready.add(uid);
  }

  #put(entry: QueueEntry): void {
    this.#entries.set(entry.uid, entry);
    this.#byMsgId.set(entry.msgId, entry.uid);
    this.#ready.add(entry.uid);
  }

  #remember(entry: QueueEntry): void {
    this.#settled.delete(entry.uid);
    this.#settled.set(entry.uid, {
      resourceVersion: entry.resourceVersion,
      deleted: entry.isDelete === true,
    });
    if (this.#settled.size > this.#settledLimit) {
      const oldest = this.#settled.keys().next().value;
      if (oldest !== undefined) this.#settled.delete(oldest);
    }
  }
}

/**
 * Whether `next` should replace `current` for the same UID. A delete wins over any queued update. An
 * update replaces a queued delete only at the same or a newer resourceVersion: a ConfigMap that left a
 * node (its last referencing pod went) and came back (a new pod references it) is the same object at the
 * same version, while a stale update after a real deletion is always older than the deletion.
 */
function supersedes(next: QueueEntry, current: QueueEntry): boolean {
  if (next.isDelete) return true;
  // Without a resourceVersion on either side, arrival order decides (the controllers send in event order).
  if (next.resourceVersion === undefined || current.resourceVersion === undefined) return true;
  const order = compareResourceVersion(next.resourceVersion, current.resourceVersion);
  return current.isDelete ? order >= 0 : order > 0;
}

/** Whether `entry` is older than what the edge already acked for its UID. */
function isStale(entry: QueueEntry, settled: Settled): boolean {
  if (settled.deleted && entry.isDelete) return true;
  if (entry.isDelete) return false;
  if (entry.resourceVersion === undefined || settled.resourceVersion === undefined) return false;
  return compareResourceVersion(entry.resourceVersion, settled.resourceVersion) < 0;
}
