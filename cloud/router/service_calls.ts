/**
 * rest -> servicebus calls waiting for the box's answer. An answer names its call in parent_msg_id and must
 * come from the node the call went to: another node cannot answer for it (node authorization on the way
 * back). Bounded: at most `limit` calls wait at once.
 */
import type { HttpResponseWire } from "../../lib/protocol/mod.ts";

interface Waiting {
  readonly node: string;
  readonly resolve: (answer: HttpResponseWire) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export type AnswerOutcome = "answered" | "unmatched" | "other_node";

export class CallTimeoutError extends Error {
  override readonly name = "CallTimeoutError";
}

export class ServiceCalls {
  readonly #waiting = new Map<string, Waiting>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#waiting.size;
  }

  get full(): boolean {
    return this.#waiting.size >= this.#limit;
  }

  /** Waits for the answer to call `msgId` sent to `node`; rejects with CallTimeoutError after `timeoutMs`. */
  wait(msgId: string, node: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpResponseWire> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(msgId);
        reject(new CallTimeoutError(`Cannot call node ${node}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(msgId, { node, resolve, reject, timer });
      signal?.addEventListener("abort", () => this.cancel(msgId, new Error("Cannot call: the caller left")), {
        once: true,
      });
    });
  }

  /** Hands an answer from `node` to the call it names. */
  answer(parentId: string, node: string, answer: () => HttpResponseWire): AnswerOutcome {
    const w = this.#waiting.get(parentId);
    if (!w) return "unmatched";
    if (w.node !== node) return "other_node";
    this.#waiting.delete(parentId);
    clearTimeout(w.timer);
    try {
      w.resolve(answer());
    } catch (error) {
      w.reject(error as Error);
    }
    return "answered";
  }

  cancel(msgId: string, error: Error): void {
    const w = this.#waiting.get(msgId);
    if (!w) return;
    this.#waiting.delete(msgId);
    clearTimeout(w.timer);
    w.reject(error);
  }

  cancelAll(error: Error): void {
    for (const id of [...this.#waiting.keys()]) this.cancel(id, error);
  }
}
