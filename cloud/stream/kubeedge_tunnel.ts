/**
 * A KubeEdge edge's stream tunnel, seen from kedge's cloud (lib/tunnel/kubeedge_frame.ts has the framing).
 * Each apiserver request is one connection on it, as KubeEdge's cloudstream carries them:
 *
 * - `/containerLogs/...`: LOGS_CONNECT; the edge sends the body as DATA and REMOVE_CONNECT at its end. The
 *   reply is 200 at once (the protocol carries no status: an error arrives as the body's text).
 * - other GETs (`/stats`, `/metrics`, `/pods`, ...): METRIC_CONNECT, likewise.
 * - `/exec/...`, `/attach/...` upgrades: EXEC_CONNECT / ATTACH_CONNECT with the request's method, url and
 *   headers; then raw bytes both ways as DATA (the edge replays the upgrade to its kubelet and relays its
 *   answer, 101 included).
 * - The side that ends first sends REMOVE_CONNECT.
 *
 * The protocol has no flow control: when an apiserver connection stops draining, reading the tunnel pauses
 * (every stream of that node waits, as with KubeEdge's cloud), and a connection that has not drained for
 * `stallMs` is removed so the others go on. Limits: connections at once, frame size (WebSocket maxPayload).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex, Writable } from "node:stream";
import type { WebSocket } from "ws";
import {
  decodeKeMessage,
  encodeKeMessage,
  goHeader,
  goUrl,
  KE_MESSAGE,
  type KeConnector,
  type KeMessageType,
} from "../../lib/tunnel/kubeedge_frame.ts";
import { headerPairs, HOP_BY_HOP, writeRawError } from "./raw_http.ts";

export interface KubeEdgeTunnelOptions {
  /** Connections open at once; one more is refused with 503. Default 256. */
  readonly maxConnections?: number;
  /** Largest DATA payload sent to the edge. Default 32 KiB. */
  readonly maxFrameBytes?: number;
  /** A connection whose apiserver side has not drained for this long is removed. Default 60 s. */
  readonly stallMs?: number;
}

interface Connection {
  data(bytes: Uint8Array): void;
  removed(): void;
}

export class KubeEdgeTunnel {
  readonly #ws: WebSocket;
  readonly #connections = new Map<number, Connection>();
  readonly #maxConnections: number;
  readonly #maxFrame: number;
  readonly #stallMs: number;
  #nextId = 0;
  #paused = new Set<number>();
  #closed = false;

  constructor(ws: WebSocket, options: KubeEdgeTunnelOptions = {}) {
    this.#ws = ws;
    this.#maxConnections = options.maxConnections ?? 256;
    this.#maxFrame = options.maxFrameBytes ?? 32 * 1024;
    this.#stallMs = options.stallMs ?? 60_000;
    ws.on("message", (data: Buffer) => {
      const message = decodeKeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (!message) return;
      const connection = this.#connections.get(message.id);
      if (!connection) return;
      if (message.type === KE_MESSAGE.DATA) connection.data(message.data);
      else if (message.type === KE_MESSAGE.REMOVE_CONNECT) connection.removed();
    });
    ws.on("close", () => {
      this.#closed = true;
      for (const connection of [...this.#connections.values()]) connection.removed();
      this.#connections.clear();
    });
  }

  get size(): number {
    return this.#connections.size;
  }

  /** A plain request (logs, stats, metrics): 200 and the body the edge sends. */
  carryRequest(req: IncomingMessage, res: ServerResponse): void {
    if ((req.method ?? "GET") !== "GET") {
      return send(res, 501, `Cannot carry ${req.method} to a KubeEdge edge: its tunnel carries GET only`);
    }
    const path = req.url ?? "/";
    const type = /^\/containerLogs\//.test(path) ? KE_MESSAGE.LOGS_CONNECT : KE_MESSAGE.METRIC_CONNECT;
    const id = this.#open();
    if (id === undefined) return send(res, 503, "Cannot carry the request: too many streams on the tunnel");
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.flushHeaders();
    this.#connections.set(id, {
      data: (bytes) => this.#deliver(id, res, bytes),
      removed: () => this.#finish(id, () => res.end()),
    });
    res.on("close", () => this.#finish(id, () => {}, true));
    this.#send(id, type, connector(id, req, HOP_BY_HOP));
  }

  /** An upgrade (exec, attach): raw bytes both ways after the connector. */
  carryUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = req.url ?? "/";
    const type = /^\/exec\//.test(path)
      ? KE_MESSAGE.EXEC_CONNECT
      : /^\/attach\//.test(path)
      ? KE_MESSAGE.ATTACH_CONNECT
      : undefined;
    if (type === undefined) {
      return writeRawError(socket, 501, `Cannot carry ${path.split("?")[0]} to a KubeEdge edge`);
    }
    const id = this.#open();
    if (id === undefined) return writeRawError(socket, 503, "Cannot carry the request: too many streams");
    this.#connections.set(id, {
      data: (bytes) => this.#deliver(id, socket, bytes),
      removed: () => this.#finish(id, () => socket.end()),
    });
    this.#send(id, type, { ...connector(id, req), method: req.method ?? "GET" });
    const forward = (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += this.#maxFrame) {
        this.#send(id, KE_MESSAGE.DATA, chunk.subarray(at, at + this.#maxFrame));
      }
    };
    if (head.length > 0) forward(head);
    socket.on("data", forward);
    socket.on("error", () => socket.destroy());
    // The apiserver's end (EOF or close) ends it on the edge, as with KubeEdge's cloud.
    socket.on("end", () => this.#finish(id, () => socket.end(), true));
    socket.on("close", () => this.#finish(id, () => {}, true));
  }

  #open(): number | undefined {
    if (this.#closed || this.#connections.size >= this.#maxConnections) return undefined;
    this.#nextId += 1;
    return this.#nextId;
  }

  /** Writes what the edge sent; a full writer pauses the tunnel until it drains, for at most stallMs. */
  #deliver(id: number, out: Writable, bytes: Uint8Array): void {
    if (out.destroyed || out.writableEnded) return;
    if (out.write(Buffer.from(bytes)) || this.#paused.has(id)) return;
    this.#paused.add(id);
    this.#ws.pause();
    const timer = setTimeout(() => {
      out.destroy();
      this.#finish(id, () => {}, true);
    }, this.#stallMs);
    const resume = () => {
      clearTimeout(timer);
      out.off("drain", resume);
      out.off("close", resume);
      this.#paused.delete(id);
      if (this.#paused.size === 0 && !this.#closed) this.#ws.resume();
    };
    out.on("drain", resume);
    out.on("close", resume);
  }

  /** Forgets the connection once; `tellEdge` sends REMOVE_CONNECT (the apiserver's side ended). */
  #finish(id: number, end: () => void, tellEdge = false): void {
    if (!this.#connections.delete(id)) return;
    if (tellEdge) this.#send(id, KE_MESSAGE.REMOVE_CONNECT);
    end();
    if (this.#paused.delete(id) && this.#paused.size === 0 && !this.#closed) this.#ws.resume();
  }

  #send(id: number, type: KeMessageType, payload?: KeConnector | Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== 1) return;
    const data = payload === undefined
      ? undefined
      : payload instanceof Uint8Array
      ? payload
      : new TextEncoder().encode(JSON.stringify(payload));
    // A text frame, as KubeEdge's tunnel writes them (its reader refuses binary ones).
    this.#ws.send(encodeKeMessage(id, type, data), { binary: false });
  }
}

function connector(id: number, req: IncomingMessage, drop?: ReadonlySet<string>): KeConnector {
  return { MessID: id, url: goUrl(req.url ?? "/"), header: goHeader(headerPairs(req, drop)) };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
