/** Requests waiting for their reply, matched by the reply's parent_msg_id. */
import type { Message } from "../../lib/protocol/mod.ts";

interface Waiter {
  readonly node: string;
  readonly resolve: (reply: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  readonly #waiters = new Map<string, Waiter>();

  /** Waits for the reply to `msgId`; rejects after `timeoutMs`. */
  wait(node: string, msgId: string, timeoutMs: number): Promise<Message> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new RangeError("Cannot send request: timeoutMs must be a positive number"));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(msgId);
        reject(
          new Error(`Cannot complete request ${msgId} to node ${node}: no reply within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.set(msgId, { node, resolve, reject, timer });
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

  /** Fails every request to `node` (its session closed), or every request when `node` is undefined. */
  rejectAll(node: string | undefined, error: Error): void {
    for (const [msgId, waiter] of this.#waiters) {
      if (node === undefined || waiter.node === node) this.reject(msgId, error);
    }
  }
}
