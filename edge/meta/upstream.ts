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
  /**
   * Messages the store could not take (a full disk), newest per key: sent from memory, lost only if edgecore
   * restarts first. Until the store takes a newer one, an entry hides the store's older message under its key
   * (SENT once it went up), which must not go up again after it.
   */
  readonly #unstored = new Map<string, unknown>();

  constructor(
    private readonly store: EdgeStore,
    private readonly uplink: Uplink,
    private readonly log: Logger,
    /** Called with the object a successful reply carries (a patched pod, as the apiserver wrote it). */
    private readonly onAnswered?: (message: Message, object: unknown) => void,
  ) {}

  /** Replaces whatever was waiting under `key` and sends it when connected. */
  send(key: string, message: Message): void {
    // A store error must not reach the caller: a pod worker or a timer (the node status), where it would
    // stop the pod's sync or, uncaught, edgecore itself.
    try {
      this.store.putUpstream(key, message);
      this.#unstored.delete(key);
    } catch (error) {
      this.log.error("upstream message not stored, keeping it in memory", { key, error });
      this.#unstored.set(key, message);
    }
    void this.flush();
  }

  /** Sends everything waiting, oldest first; stops at the first failure and tries again on the next call. */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    // Never rejects: send() does not await it, and a rejection nobody handles ends the process.
    this.#flushing = this.#drain()
      .catch((error) => this.log.error("upstream flush stopped", { error }))
      .finally(() => this.#flushing = undefined);
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    do {
      this.#again = false;
      for (const { key, message, stored } of this.#pending()) {
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
        this.#forget(key, message, stored);
        if (outcome.ok) this.#answered(message as Message, outcome.object);
      }
    } while (this.#again);
  }

  /** What waits: the store's messages, oldest first, then those kept in memory (newer than any stored one). */
  #pending(): Array<{ key: string; message: unknown; stored: boolean }> {
    const stored = this.store.pendingUpstream();
    const hidden = stored.filter(({ key }) => this.#unstored.has(key));
    const waiting = stored.filter(({ key }) => !this.#unstored.has(key));
    // A key sent from memory is done once the store holds nothing older under it: cleared now if it can be.
    const storedKeys = new Set(hidden.map(({ key }) => key));
    for (const [key, message] of this.#unstored) {
      if (message === SENT && !storedKeys.has(key)) this.#unstored.delete(key);
    }
    for (const { key, message } of hidden) {
      if (this.#unstored.get(key) === SENT && this.#clear(key, message)) this.#unstored.delete(key);
    }
    const unstored = [...this.#unstored].filter(([, message]) => message !== SENT);
    return [
      ...waiting.map(({ key, message }) => ({ key, message, stored: true })),
      ...unstored.map(([key, message]) => ({ key, message, stored: false })),
    ];
  }

  #forget(key: string, message: unknown, stored: boolean): void {
    if (stored) this.#clear(key, message);
    else if (this.#unstored.get(key) === message) this.#unstored.set(key, SENT);
  }

  #clear(key: string, message: unknown): boolean {
    try {
      this.store.clearUpstream(key, message);
      return true;
    } catch (error) {
      // Sent but still stored: it goes up once more later, which a latest-state message allows.
      this.log.warn("upstream message sent but not cleared", { key, error });
      return false;
    }
  }

  #answered(message: Message, object: unknown): void {
    try {
      this.onAnswered?.(message, object);
    } catch (error) {
      // The object the reply carried was not stored: the store keeps the older version until the next change
      // or the resync on the next connect (the cloud sends no echo of it).
      this.log.warn("answered object not stored", { key: message.route.resource, error });
    }
  }
}

/** Marks a key whose in-memory message went up while an older one may still be stored under it. */
const SENT = Symbol("sent");
