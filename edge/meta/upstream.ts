// What the edge tells the cloud and must not lose: the latest message per key waits in the store's outbox
// until the cloud answers it, so status changes made offline go up on reconnect, the latest only.
import type { Logger } from "../../lib/log.ts";
import { type Message, replyOutcome } from "../../lib/protocol/mod.ts";
import type { EdgeStore } from "../store/mod.ts";

export interface Uplink {
  readonly connected: boolean;
  request(message: Message, timeoutMs: number): Promise<Message>;
}

export const UPSTREAM_TIMEOUT_MS = 10_000;

export class UpstreamSender {
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly store: EdgeStore,
    private readonly uplink: Uplink,
    private readonly log: Logger,
    /** Called with the object a successful reply carries (a patched pod, as the apiserver wrote it). */
    private readonly onAnswered?: (message: Message, object: unknown) => void,
  ) {}

  /** Replaces whatever was waiting under `key` and sends it when connected. */
  send(key: string, message: Message): void {
    this.store.putUpstream(key, message);
    void this.flush();
  }

  /** Sends everything waiting, oldest first; stops at the first failure and tries again on the next call. */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = this.#drain().finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      for (const { key, message } of this.store.pendingUpstream()) {
        if (!this.uplink.connected) return;
        let reply: Message;
        try {
          reply = await this.uplink.request(message as Message, UPSTREAM_TIMEOUT_MS);
        } catch (error) {
          this.log.info("upstream message deferred", { key, error });
          return;
        }
        // A refusal is final (not allowed, object gone): retrying cannot change it.
        const outcome = replyOutcome(reply);
        if (!outcome.ok) this.log.warn("cloud refused upstream message", { key, reason: outcome.reason });
        this.store.clearUpstream(key, message);
        if (outcome.ok) this.onAnswered?.(message as Message, outcome.object);
      }
    } while (this.#again);
  }
}
