/**
 * Requests waiting for their reply, matched by the reply's parent_msg_id. Both ends of the channel use it:
 * the cloud groups requests by node (a session that closes fails its own), the edge has one group.
 */
import type { Message } from "./types.ts";

interface Waiter {
  readonly group: string;
  readonly resolve: (reply: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  readonly #waiters = new Map<string, Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  /** Waits for the reply to `msgId`; rejects after `timeoutMs`. `group` names the peer in errors. */
  wait(msgId: string, timeoutMs: number, group = ""): Promise<Message> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new RangeError("Cannot send request: timeoutMs must be a positive number"));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(msgId);
        const to = group ? ` to node ${group}` : "";
        reject(new Error(`Cannot complete request ${msgId}${to}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(msgId, { group, resolve, reject, timer });
    });
  }

  /** Hands `reply` to the request it answers; false when none waits for it. */
  resolve(parentId: string, reply: Message): boolean {
    const waiter = this.#waiters.get(parentId);
    if (!waiter) return false;
    this.#waiters.delete(parentId);
    clearTimeout(waiter.timer);
    waiter.resolve(reply);
    return true;
  }

  /** Fails one request, e.g. when writing it failed. */
  reject(msgId: string, error: Error): void {
    const waiter = this.#waiters.get(msgId);
    if (!waiter) return;
    this.#waiters.delete(msgId);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  /** Fails every request of `group` (its session closed), or every request when `group` is undefined. */
  rejectAll(error: Error, group?: string): void {
    for (const [msgId, waiter] of [...this.#waiters]) {
      if (group === undefined || waiter.group === group) this.reject(msgId, error);
    }
  }
}
