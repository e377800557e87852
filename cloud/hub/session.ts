/**
 * One edge node's WebSocket session. Writes are event-driven and per session: a node whose socket buffer is
 * above the high-water mark simply keeps its items queued, and nothing else waits for it. Incoming frames
 * are decoded with the wire limits; acks, replies, keepalives and control pings are handled inline, other
 * messages go through the handler in the inbox's lanes (reading pauses while too many wait).
 */
import type { WebSocket } from "ws";
import type { Logger } from "../../lib/log.ts";
import {
  ACK_CONTENT,
  decode,
  encode,
  errorTo,
  type Message,
  type PendingRequests,
  responseTo,
} from "../../lib/protocol/mod.ts";
import { type HubMetrics, operationLabel } from "./hub_metrics.ts";
import { Inbox, type Lane } from "./inbox.ts";

import type { SendQueue } from "./send_queue.ts";
import { idOf, rejection, toFrame } from "./frames.ts";

export type MessageHandler = (node: string, message: Message) => Promise<Message | undefined>;

export interface SessionOptions {
  readonly node: string;
  readonly ws: WebSocket;
  readonly queue: SendQueue;
  readonly pending: PendingRequests;
  readonly log: Logger;
  readonly metrics: HubMetrics;
  readonly maxMessageBytes: number;
  readonly keepaliveTimeoutMs: number;
  /** Queue items are written only while the socket buffers less than this. */
  readonly highWaterBytes: number;
  /** A peer that leaves more than this unread is cut off (replies do not wait for the high-water mark). */
  readonly maxBufferedBytes: number;
  /** Messages waiting for the handler before reading pauses. */
  readonly inboxLimit: number;
  /** Frame bytes waiting for the handler before reading pauses. */
  readonly inboxBytes: number;
  /** Object messages of this node handled at once. */
  readonly handlerConcurrency: number;
  readonly laneOf: (message: Message) => Lane;
  readonly onMessage: MessageHandler;
  readonly onClosed: (session: Session, code: number, reason: string) => void;
}

/** Close codes this hub uses besides the standard ones. */
export const CLOSE_REPLACED = 4000;
export const CLOSE_NOT_READING = 4001;
const CONTROL_OPERATIONS: ReadonlySet<string> = new Set(["ping", "pong", "config"]);

export class Session {
  readonly node: string;
  readonly #o: SessionOptions;
  readonly #ws: WebSocket;
  readonly #inbox: Inbox;
  #closed = false;
  #flushQueued = false;
  #lastSeen = performance.now();
  #keepaliveTimer: ReturnType<typeof setTimeout> | undefined;
  #resendTimer: ReturnType<typeof setTimeout> | undefined;
  #resolveDone: () => void = () => {};
  /** Settles once the socket has closed. */
  readonly done: Promise<void> = new Promise((resolve) => this.#resolveDone = resolve);

  constructor(options: SessionOptions) {
    this.#o = options;
    this.node = options.node;
    this.#ws = options.ws;
    this.#inbox = new Inbox({
      concurrency: options.handlerConcurrency,
      laneOf: options.laneOf,
      handle: (message) => this.#handle(message),
      onSettled: () => {
        if (this.#ws.isPaused && !this.#closed && !this.#inboxFull()) this.#ws.resume();
      },
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written to the socket and not yet sent. */
  get bufferedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  start(): void {
    const ws = this.#ws;
    ws.on("message", (data, isBinary) => this.#receive(data, isBinary));
    ws.on("ping", () => this.#seen());
    ws.on("pong", () => this.#seen());
    ws.on("error", (err) => {
      const tooLarge = (err as { code?: string }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
      this.#o.metrics.framesRejected.inc({ reason: tooLarge ? "too_large" : "protocol" });
      this.#o.log.warn("websocket error", { node: this.node, error: err });
    });
    ws.on("close", (code, reason) => this.#onClose(code, reason.toString("utf8")));
    this.#o.queue.requeueAll();
    this.#armKeepalive(this.#o.keepaliveTimeoutMs);
    this.flush();
  }

  /** Writes queued items while the socket buffer allows; called when something was queued or acked. */
  flush(): void {
    if (this.#closed) return;
    const queue = this.#o.queue;
    queue.expire();
    while (this.#ws.bufferedAmount < this.#o.highWaterBytes) {
      const entry = queue.take();
      if (!entry) break;
      this.#o.metrics.messages.inc({ direction: "out", operation: operationLabel(entry.operation) });
      // The callback runs once the frame left our buffer: the moment to write more if any is waiting.
      this.#ws.send(entry.frame, () => this.#scheduleFlush());
    }
    this.#armResend();
  }

  /** Writes a reply, request or control answer now; throws when the session is closed. */
  sendDirect(message: Message): void {
    if (this.#closed) throw new Error(`Cannot send to node ${this.node}: its session is closed`);
    const frame = encode(message, { maxBytes: this.#o.maxMessageBytes });
    if (this.#ws.bufferedAmount > this.#o.maxBufferedBytes) {
      this.#o.log.warn("peer not reading", { node: this.node, buffered: this.#ws.bufferedAmount });
      this.close(CLOSE_NOT_READING, "peer is not reading");
      throw new Error(`Cannot send to node ${this.node}: it has stopped reading`);
    }
    this.#o.metrics.messages.inc({ direction: "out", operation: operationLabel(message.route.operation) });
    this.#ws.send(frame);
  }

  /** Ends the session with a close frame; the peer gets `code` and `reason`. Idempotent. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#markClosed();
    this.#ws.close(code, reason);
  }

  /** Drops the connection without a close handshake (the peer is presumed gone). */
  terminate(): void {
    this.#markClosed();
    this.#ws.terminate();
  }

  #markClosed(): void {
    this.#closed = true;
    clearTimeout(this.#keepaliveTimer);
    clearTimeout(this.#resendTimer);
  }

  #onClose(code: number, reason: string): void {
    this.#markClosed();
    this.#inbox.close();
    this.#resolveDone();
    this.#o.onClosed(this, code, reason);
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#closed) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.flush();
    });
  }

  #armResend(): void {
    clearTimeout(this.#resendTimer);
    this.#resendTimer = undefined;
    const at = this.#o.queue.nextResendAt();
    if (at === undefined || this.#closed) return;
    this.#resendTimer = setTimeout(() => this.flush(), Math.max(0, at - performance.now()));
  }

  #seen(): void {
    this.#lastSeen = performance.now();
  }

  #armKeepalive(ms: number): void {
    clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = setTimeout(() => this.#checkKeepalive(), ms);
  }

  #checkKeepalive(): void {
    if (this.#closed) return;
    // A paused socket is our doing (the handler is behind), not the peer's silence.
    if (this.#ws.isPaused) this.#seen();
    const idle = performance.now() - this.#lastSeen;
    if (idle < this.#o.keepaliveTimeoutMs) {
      this.#armKeepalive(this.#o.keepaliveTimeoutMs - idle);
      return;
    }
    this.#o.log.warn("session timed out", { node: this.node, idleMs: Math.round(idle) });
    this.terminate();
  }

  #receive(data: unknown, isBinary: boolean): void {
    this.#seen();
    if (this.#closed) return;
    const frame = toFrame(data);
    const result = decode(frame, { maxBytes: this.#o.maxMessageBytes });
    if (!result.ok) {
      const { code, message } = result.error;
      this.#o.metrics.framesRejected.inc({ reason: code });
      this.#o.log.warn("frame rejected", { node: this.node, reason: code, error: message, binary: isBinary });
      const id = code === "invalid_shape" ? idOf(frame) : undefined;
      if (id !== undefined) this.#trySend(rejection(id, message));
      return;
    }
    this.#dispatch(result.message, frame.byteLength);
  }

  /** Reading pauses at the limits; frames ws had already read still queue, up to twice the limits. */
  #inboxFull(times = 1): boolean {
    return this.#inbox.size >= times * this.#o.inboxLimit || this.#inbox.bytes >= times * this.#o.inboxBytes;
  }

  #dispatch(message: Message, bytes: number): void {
    const { operation } = message.route;
    this.#o.metrics.messages.inc({ direction: "in", operation: operationLabel(operation) });
    if (operation === "keepalive") return;
    if (CONTROL_OPERATIONS.has(operation)) {
      this.#trySend(responseTo(message, "ack"));
      return;
    }
    const parent = message.header.parent_msg_id;
    if ((operation === "response" || operation === "error") && parent !== undefined) {
      this.#onReply(parent, message);
      return;
    }
    if (this.#inboxFull(2)) {
      this.#o.metrics.framesRejected.inc({ reason: "inbox_full" });
      this.#trySend(errorTo(message, "Cannot handle message: too many messages waiting"));
      return;
    }
    this.#inbox.push(message, bytes);
    if (this.#inboxFull()) this.#ws.pause();
  }

  #onReply(parent: string, message: Message): void {
    if (this.#o.pending.resolve(parent, message)) return;
    const queue = this.#o.queue;
    if (message.route.operation === "response" && message.content === ACK_CONTENT && queue.ack(parent)) {
      this.flush();
      return;
    }
    if (queue.has(parent)) {
      // The edge could not store it; it stays queued and goes again at the next resend.
      this.#o.log.warn("delivery refused by edge", {
        node: this.node,
        msgId: parent,
        content: message.content,
      });
      return;
    }
    this.#o.log.debug("unmatched reply", { node: this.node, parentId: parent });
  }

  async #handle(message: Message): Promise<void> {
    let reply: Message | undefined;
    try {
      reply = await this.#o.onMessage(this.node, message);
    } catch (err) {
      this.#o.log.warn("message handler failed", {
        node: this.node,
        msgId: message.header.msg_id,
        error: err,
      });
      reply = errorTo(message, err instanceof Error ? err.message : String(err));
    }
    if (reply) this.#trySend(reply);
  }

  #trySend(message: Message): void {
    if (this.#closed) return;
    try {
      this.sendDirect(message);
    } catch (err) {
      this.#o.log.warn("reply not sent", { node: this.node, error: err });
    }
  }
}
