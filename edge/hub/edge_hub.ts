/**
 * EdgeHub: the edge end of the channel. Dials cloudcore (wss://HOST:PORT/<project>/<node>/events, client
 * certificate, node_id and project_id headers, as upstream), sends a keepalive every heartbeat, hands each
 * cloud message to the handler in order and acks deliveries only after the handler resolved. Reconnects with
 * jittered exponential backoff; close() interrupts every wait at once.
 */
import { WebSocket } from "ws";
import type { Logger } from "../../lib/log.ts";
import {
  ackOf,
  APPLICATION_RESPONSE_OPERATION,
  decode,
  encode,
  keepaliveMessage,
  type Message,
  PendingRequests,
  responseTo,
  toFrame,
} from "../../lib/protocol/mod.ts";
import { Backoff, sleep } from "../../lib/backoff.ts";
import {
  type EdgeHubCredentials,
  type EdgeHubOptions,
  type ResolvedEdgeHubOptions,
  resolveOptions,
} from "./options.ts";

export interface EdgeHub {
  /** Whether a session is open now. */
  readonly connected: boolean;
  /** Writes `message`, or holds it until connected (bounded: throws RangeError when the outbox is full). */
  send(message: Message): void;
  /** Sends `message` and resolves with the reply naming it in parent_msg_id. */
  request(message: Message, timeoutMs: number): Promise<Message>;
  /** Closes the current connection and dials again now (e.g. after a certificate rotation). */
  reconnect(): void;
  /** Closes the connection and stops reconnecting; resolves when nothing is left running. */
  close(): Promise<void>;
}

/** Deliveries the edge acks once its handler stored them, as upstream's metamanager does. */
const ACKED_OPERATIONS: ReadonlySet<string> = new Set(["insert", "update", "patch", "delete"]);
const CONTROL_OPERATIONS: ReadonlySet<string> = new Set(["ping", "pong", "config"]);
const CLOSE_GRACE_MS = 1_000;

export function startEdgeHub(options: EdgeHubOptions): EdgeHub {
  const hub = new EdgeHubClient(resolveOptions(options));
  hub.start();
  return hub;
}

class EdgeHubClient implements EdgeHub {
  readonly #o: ResolvedEdgeHubOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #stop = new AbortController();
  readonly #pending = new PendingRequests();
  readonly #outbox: string[] = [];
  readonly #inbox: Message[] = [];
  #ws: WebSocket | undefined;
  #connected = false;
  #wake: AbortController | undefined;
  #reconnectNow = false;
  #draining = false;
  #flushQueued = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** When the cloud last sent anything (a frame or a pong). */
  #heardAt = 0;
  #done: Promise<void> = Promise.resolve();
  readonly #onAbort = () => void this.close();

  constructor(options: ResolvedEdgeHubOptions) {
    this.#o = options;
    this.#log = options.log.child({ module: "edgehub", node: options.nodeName });
    this.#backoff = new Backoff({ ...options.backoff, random: options.random });
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (this.#o.signal?.aborted) {
      this.#stop.abort();
      return;
    }
    this.#o.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#done = this.#run();
  }

  send(message: Message): void {
    if (this.#stop.signal.aborted) throw new Error("Cannot send message: edgehub is closed");
    const frame = encode(message, { maxBytes: this.#o.maxMessageBytes });
    const ws = this.#ws;
    if (this.#connected && ws && this.#outbox.length === 0 && ws.bufferedAmount < this.#o.highWaterBytes) {
      ws.send(frame, () => this.#scheduleFlush());
      return;
    }
    if (this.#outbox.length >= this.#o.outboxLimit) {
      throw new RangeError(
        `Cannot queue message: ${this.#outbox.length} messages already wait for the connection, the limit`,
      );
    }
    this.#outbox.push(frame);
  }

  request(message: Message, timeoutMs: number): Promise<Message> {
    const msgId = message.header.msg_id;
    const reply = this.#pending.wait(msgId, timeoutMs);
    try {
      this.send(message);
    } catch (err) {
      this.#pending.reject(msgId, err instanceof Error ? err : new Error(String(err)));
    }
    return reply;
  }

  reconnect(): void {
    if (this.#stop.signal.aborted) return;
    this.#reconnectNow = true;
    this.#wake?.abort();
    this.#closeSocket(1000, "reconnecting");
  }

  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#o.signal?.removeEventListener("abort", this.#onAbort);
      this.#wake?.abort();
      this.#closeSocket(1000, "edgehub closing");
    }
    await this.#done;
    this.#outbox.length = 0;
    this.#pending.rejectAll(new Error("Cannot complete request: edgehub closed"));
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      let opened = false;
      let reason: string;
      try {
        const credentials = await this.#o.credentials();
        if (stop.aborted) break;
        ({ opened, reason } = await this.#connectOnce(credentials));
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
        this.#log.warn("cannot connect", { error: err });
      }
      if (stop.aborted) break;
      if (opened) this.#backoff.reset();
      if (this.#reconnectNow) {
        this.#reconnectNow = false;
        continue;
      }
      const delayMs = this.#backoff.next();
      this.#log.info("reconnecting", { delayMs, reason });
      this.#wake = new AbortController();
      const wake = AbortSignal.any([stop, this.#wake.signal]);
      await sleep(delayMs, wake);
      this.#wake = undefined;
      this.#reconnectNow = false;
    }
  }

  /** One connection, from dial to close; resolves when the socket is closed. */
  #connectOnce(credentials: EdgeHubCredentials): Promise<{ opened: boolean; reason: string }> {
    const o = this.#o;
    const url = `wss://${o.server}/${encodeURIComponent(o.projectID)}/${
      encodeURIComponent(o.nodeName)
    }/events`;
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {
        ca: credentials.caPem,
        cert: credentials.certPem,
        key: credentials.keyPem,
        // ConnectionUse: msg makes KubeEdge's cloudhub start reading frames (without it, it upgrades the
        // socket and never reads: seen against v1.23.1).
        headers: { node_id: o.nodeName, project_id: o.projectID, ConnectionUse: "msg" },
        maxPayload: o.maxMessageBytes,
        perMessageDeflate: false,
      });
      this.#ws = ws;
      let opened = false;
      let failure: string | undefined;
      // Our own timer rather than ws's handshakeTimeout: under Deno, ws's request timeout could fire after the
      // request had already failed and throw an uncaught TypeError in abortHandshake (its request gone), which
      // ended the process (seen in tests/abuse/node_limit_test.ts's crowd on a loaded machine).
      const handshake = setTimeout(() => {
        if (opened || ws.readyState !== WebSocket.CONNECTING) return;
        failure ??= `Opening handshake has timed out after ${o.handshakeTimeoutMs} ms`;
        ws.terminate();
      }, o.handshakeTimeoutMs);
      ws.on("open", () => {
        clearTimeout(handshake);
        opened = true;
        this.#onOpen(ws);
      });
      ws.on("error", (err) => {
        failure ??= err.message;
        this.#log.warn("websocket error", { error: err });
      });
      ws.on("message", (data) => {
        this.#heardAt = Date.now();
        this.#receive(ws, data);
      });
      ws.on("pong", () => this.#heardAt = Date.now());
      ws.on("close", (code, buffer) => {
        clearTimeout(handshake);
        const reason = failure ?? `closed with ${code}${buffer.length ? ` ${buffer.toString("utf8")}` : ""}`;
        if (this.#ws === ws) this.#ws = undefined;
        if (opened) this.#onClosed(reason);
        resolve({ opened, reason });
      });
    });
  }

  #onOpen(ws: WebSocket): void {
    this.#connected = true;
    this.#log.info("connected", { server: this.#o.server });
    this.#heardAt = Date.now();
    // Each heartbeat also pings (any WebSocket server pongs, KubeEdge's too): a cloud silent for two
    // heartbeats and a half is gone without a FIN (a dropped link), and TCP would take minutes to say so.
    this.#heartbeat = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const silentMs = Date.now() - this.#heardAt;
      if (silentMs > 2.5 * this.#o.heartbeatMs) {
        this.#log.warn("cloud silent, reconnecting", { silentMs });
        ws.terminate();
        return;
      }
      ws.send(encode(keepaliveMessage()));
      ws.ping();
    }, this.#o.heartbeatMs);
    this.#flush();
    try {
      this.#o.onConnect?.();
    } catch (err) {
      this.#log.error("connect callback failed", { error: err });
    }
  }

  #onClosed(reason: string): void {
    this.#connected = false;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#pending.rejectAll(new Error(`Cannot complete request: connection lost (${reason})`));
    this.#log.info("disconnected", { reason });
    try {
      this.#o.onDisconnect?.(reason);
    } catch (err) {
      this.#log.error("disconnect callback failed", { error: err });
    }
  }

  /** Asks the socket to close; a peer that does not answer within the grace time is cut off. */
  #closeSocket(code: number, reason: string): void {
    const ws = this.#ws;
    if (!ws) return;
    if (ws.readyState !== WebSocket.OPEN) {
      ws.terminate();
      return;
    }
    ws.close(code, reason);
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
    ws.once("close", () => clearTimeout(timer));
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  /** Writes held messages while connected and the socket buffer allows. */
  #flush(): void {
    const ws = this.#ws;
    if (!this.#connected || !ws) return;
    while (this.#outbox.length > 0 && ws.bufferedAmount < this.#o.highWaterBytes) {
      const frame = this.#outbox.shift();
      if (frame !== undefined) ws.send(frame, () => this.#scheduleFlush());
    }
  }

  #receive(ws: WebSocket, data: unknown): void {
    const result = decode(toFrame(data), { maxBytes: this.#o.maxMessageBytes });
    if (!result.ok) {
      this.#log.warn("frame dropped", { reason: result.error.code, error: result.error.message });
      return;
    }
    const message = result.message;
    const { operation } = message.route;
    if (operation === "keepalive") return;
    if (CONTROL_OPERATIONS.has(operation)) {
      this.#trySend(responseTo(message, "ack"));
      return;
    }
    const parent = message.header.parent_msg_id;
    // An answer to a MetaServer Application comes back with its own operation (lib/protocol/application.ts).
    const isReply = operation === "response" || operation === "error" ||
      operation === APPLICATION_RESPONSE_OPERATION;
    if (isReply && parent !== undefined) {
      if (!this.#pending.resolve(parent, message)) this.#log.debug("unmatched reply", { parentId: parent });
      return;
    }
    this.#inbox.push(message);
    if (this.#inbox.length >= this.#o.inboxLimit) ws.pause();
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let message = this.#inbox.shift(); message; message = this.#inbox.shift()) {
        try {
          await this.#o.onMessage(message);
        } catch (err) {
          // No ack: the cloud keeps the delivery and sends it again.
          this.#log.warn("message handler failed", { msgId: message.header.msg_id, error: err });
          continue;
        } finally {
          if (this.#ws?.isPaused && this.#inbox.length < this.#o.inboxLimit) this.#ws.resume();
        }
        if (ACKED_OPERATIONS.has(message.route.operation) && !this.#stop.signal.aborted) {
          this.#trySend(ackOf(message));
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #trySend(message: Message): void {
    if (this.#stop.signal.aborted) return;
    try {
      this.send(message);
    } catch (err) {
      this.#log.warn("message not sent", { operation: message.route.operation, error: err });
    }
  }
}
