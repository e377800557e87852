/**
 * The stream tunnel's multiplexer, shared by both ends (cloud/stream and edge/stream). Many byte streams share one
 * WebSocket; each binary message is one frame: type (1 byte), stream id (uint32 BE), payload.
 *
 *   OPEN     cloud -> edge  JSON {method, path, headers, upgrade}: a request for the edge's kubelet server
 *   RESPONSE edge -> cloud  JSON {status, headers}: the reply head of a plain (not upgraded) request
 *   DATA     both           bytes, at most maxFrameBytes, never more than the peer's credit
 *   END      both           no more DATA this way (half close)
 *   RESET    both           the stream is dead; payload: a reason
 *   WINDOW   both           uint32 BE: bytes the sender may send more (credit returned as data is consumed)
 *
 * Flow control: each side may have at most `windowBytes` unconsumed per stream, so a slow reader holds
 * back its writer instead of filling memory; a peer exceeding its credit has the stream reset.
 */
import { Duplex } from "node:stream";
import type { WebSocket } from "ws";

export const FRAME = { OPEN: 1, RESPONSE: 2, DATA: 3, END: 4, RESET: 5, WINDOW: 6 } as const;
export type FrameType = typeof FRAME[keyof typeof FRAME];

export interface OpenHead {
  method: string;
  path: string;
  headers: [string, string][];
  upgrade: boolean;
}
export interface ResponseHead {
  status: number;
  headers: [string, string][];
}

export interface MuxOptions {
  /** Credit per stream and direction. Default 256 KiB. */
  readonly windowBytes?: number;
  /** Largest DATA payload. Default 32 KiB. */
  readonly maxFrameBytes?: number;
  /** Largest OPEN/RESPONSE head. Default 64 KiB. */
  readonly maxHeadBytes?: number;
  /** Streams open at once; one more OPEN is reset. Default 256. */
  readonly maxStreams?: number;
  /** The peer opened a stream (edge side). */
  readonly onOpen?: (stream: TunnelStream, head: OpenHead) => void;
  /** The socket buffers more than this: writers wait for it to drain. Default 4 MiB. */
  readonly highWaterBytes?: number;
}

const HEADER = 5;

export function encodeFrame(type: FrameType, id: number, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, id);
  out.set(payload, HEADER);
  return out;
}

export class TunnelMux {
  readonly #ws: WebSocket;
  readonly #streams = new Map<number, TunnelStream>();
  readonly window: number;
  readonly maxFrame: number;
  readonly #maxHead: number;
  readonly #maxStreams: number;
  readonly #highWater: number;
  readonly #onOpen?: (stream: TunnelStream, head: OpenHead) => void;
  #nextId = 1;
  #closed = false;

  constructor(ws: WebSocket, options: MuxOptions = {}) {
    this.#ws = ws;
    this.window = options.windowBytes ?? 256 * 1024;
    this.maxFrame = options.maxFrameBytes ?? 32 * 1024;
    this.#maxHead = options.maxHeadBytes ?? 64 * 1024;
    this.#maxStreams = options.maxStreams ?? 256;
    this.#highWater = options.highWaterBytes ?? 4 * 1024 * 1024;
    this.#onOpen = options.onOpen;
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      this.#receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on("close", () => this.close("tunnel closed"));
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream to the peer (cloud side). */
  open(head: OpenHead): TunnelStream {
    if (this.#closed) throw new Error("Cannot open stream: the tunnel is closed");
    if (this.#streams.size >= this.#maxStreams) {
      throw new Error("Cannot open stream: too many streams on the tunnel");
    }
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_fff0 ? 1 : this.#nextId + 1;
    const stream = new TunnelStream(this, id);
    this.#streams.set(id, stream);
    this.sendJson(FRAME.OPEN, id, head);
    return stream;
  }

  /** Resets every stream. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) {
      stream.destroy(new Error(`Cannot continue stream: ${reason}`));
    }
    this.#streams.clear();
  }

  /** Sends a frame; resolves at once unless the socket buffers more than highWaterBytes. */
  send(type: FrameType, id: number, payload?: Uint8Array): Promise<void> {
    if (this.#closed || this.#ws.readyState !== 1) {
      return Promise.reject(new Error("Cannot send: the tunnel is closed"));
    }
    const frame = encodeFrame(type, id, payload);
    if (this.#ws.bufferedAmount < this.#highWater) {
      this.#ws.send(frame);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) =>
      this.#ws.send(frame, (error) => error ? reject(error) : resolve())
    );
  }

  sendJson(type: FrameType, id: number, value: unknown): void {
    this.send(type, id, new TextEncoder().encode(JSON.stringify(value))).catch(() => {});
  }

  forget(id: number): void {
    this.#streams.delete(id);
  }

  #receive(frame: Uint8Array): void {
    if (frame.length < HEADER) return;
    const type = frame[0];
    const id = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
    const payload = frame.subarray(HEADER);
    const stream = this.#streams.get(id);
    switch (type) {
      case FRAME.OPEN: {
        if (stream || !this.#onOpen) {
          return void this.send(FRAME.RESET, id, text("unexpected OPEN")).catch(() => {});
        }
        if (this.#streams.size >= this.#maxStreams) {
          return void this.send(FRAME.RESET, id, text("too many streams")).catch(() => {});
        }
        const head = payload.length <= this.#maxHead ? parseJson<OpenHead>(payload) : undefined;
        if (
          !head || typeof head.path !== "string" || typeof head.method !== "string" ||
          !Array.isArray(head.headers)
        ) {
          return void this.send(FRAME.RESET, id, text("bad OPEN head")).catch(() => {});
        }
        const opened = new TunnelStream(this, id);
        this.#streams.set(id, opened);
        this.#onOpen(opened, head);
        return;
      }
      case FRAME.RESPONSE: {
        const head = payload.length <= this.#maxHead ? parseJson<ResponseHead>(payload) : undefined;
        if (!stream) return;
        if (!head || typeof head.status !== "number" || !Array.isArray(head.headers)) {
          return void stream.destroy(new Error("Cannot read response: bad RESPONSE head"));
        }
        return stream.receiveResponse(head);
      }
      case FRAME.DATA:
        return stream?.receiveData(payload);
      case FRAME.END:
        return stream?.receiveEnd();
      case FRAME.RESET:
        return stream?.receiveReset(new TextDecoder().decode(payload.subarray(0, 1024)));
      case FRAME.WINDOW:
        if (payload.length === 4) {
          stream?.receiveWindow(new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0));
        }
        return;
    }
  }
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function parseJson<T>(bytes: Uint8Array): T | undefined {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    return undefined;
  }
}

/** One stream as a node Duplex: write what goes to the peer, read what comes from it. */
export class TunnelStream extends Duplex {
  readonly id: number;
  readonly #mux: TunnelMux;
  #credit: number;
  /** Received bytes not yet given back as credit. */
  #owed = 0;
  /** Received bytes the peer may still send before it needs more credit. */
  #allowed: number;
  #creditWaiter?: () => void;
  #responseWaiters: Array<(head: ResponseHead) => void> = [];
  #response?: ResponseHead;
  #remoteEnded = false;
  #localEnded = false;
  #reset = false;

  constructor(mux: TunnelMux, id: number) {
    super({ allowHalfOpen: true, highWaterMark: mux.window });
    this.#mux = mux;
    this.id = id;
    this.#credit = mux.window;
    this.#allowed = mux.window;
  }

  /** Edge side: sends the reply head of a plain request. */
  respond(head: ResponseHead): void {
    this.#mux.sendJson(FRAME.RESPONSE, this.id, head);
  }

  /** Cloud side: the reply head, once the edge sends it. */
  response(): Promise<ResponseHead> {
    if (this.#response) return Promise.resolve(this.#response);
    return new Promise((resolve, reject) => {
      this.#responseWaiters.push(resolve);
      this.once("close", () => reject(new Error("Cannot read response: the stream closed before its head")));
    });
  }

  receiveResponse(head: ResponseHead): void {
    this.#response = head;
    for (const waiter of this.#responseWaiters.splice(0)) waiter(head);
  }

  receiveData(payload: Uint8Array): void {
    if (this.#remoteEnded) return;
    if (payload.length > this.#allowed) {
      this.#sendReset("flow control: more data than credit");
      return void this.destroy(new Error("Cannot read stream: the peer exceeded its credit"));
    }
    this.#allowed -= payload.length;
    if (this.push(Buffer.from(payload))) this.#grant(payload.length);
    else this.#owed += payload.length;
  }

  receiveEnd(): void {
    this.#remoteEnded = true;
    this.push(null);
    this.#maybeDone();
  }

  receiveReset(reason: string): void {
    this.#reset = true;
    this.destroy(new Error(`Cannot continue stream: reset by peer (${reason})`));
  }

  receiveWindow(bytes: number): void {
    this.#credit += bytes;
    const waiter = this.#creditWaiter;
    this.#creditWaiter = undefined;
    waiter?.();
  }

  #grant(bytes: number): void {
    this.#allowed += bytes;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, bytes);
    this.#mux.send(FRAME.WINDOW, this.id, payload).catch(() => {});
  }

  override _read(): void {
    if (this.#owed > 0) {
      const owed = this.#owed;
      this.#owed = 0;
      this.#grant(owed);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#writeAll(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)).then(
      () => callback(),
      callback,
    );
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      if (this.destroyed) throw new Error("Cannot write: the stream is closed");
      if (this.#credit <= 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            this.off("close", done);
            resolve();
          };
          this.#creditWaiter = done;
          this.once("close", done);
        });
        continue;
      }
      const n = Math.min(this.#credit, this.#mux.maxFrame, bytes.length - at);
      this.#credit -= n;
      await this.#mux.send(FRAME.DATA, this.id, bytes.subarray(at, at + n));
      at += n;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#localEnded = true;
    this.#mux.send(FRAME.END, this.id).then(() => {
      callback();
      this.#maybeDone();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#reset && !(this.#localEnded && this.#remoteEnded)) this.#sendReset(error?.message ?? "closed");
    this.#mux.forget(this.id);
    const waiter = this.#creditWaiter;
    this.#creditWaiter = undefined;
    waiter?.();
    callback(error);
  }

  #sendReset(reason: string): void {
    this.#reset = true;
    this.#mux.send(FRAME.RESET, this.id, new TextEncoder().encode(reason.slice(0, 512))).catch(() => {});
  }

  #maybeDone(): void {
    if (this.#localEnded && this.#remoteEnded) this.#mux.forget(this.id);
  }
}
