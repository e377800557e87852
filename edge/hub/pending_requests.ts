/** Requests to the cloud waiting for their reply, matched by the reply's parent_msg_id. */
import type { Message } from "../../lib/protocol/mod.ts";

interface Waiter {
  readonly resolve: (reply: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  readonly #waiters = new Map<string, Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  /** Waits for the reply to `msgId`; rejects after `timeoutMs`. */
  wait(msgId: string, timeoutMs: number): Promise<Message> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new RangeError("Cannot send request: timeoutMs must be a positive number"));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(msgId);
        reject(new Error(`Cannot complete request ${msgId}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(msgId, { resolve, reject, timer });
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

  reject(msgId: string, error: Error): void {
    const waiter = this.#waiters.get(msgId);
    if (!waiter) return;
    this.#waiters.delete(msgId);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  rejectAll(error: Error): void {
    for (const msgId of [...this.#waiters.keys()]) this.reject(msgId, error);
  }
}
