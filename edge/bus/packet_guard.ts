/**
 * The per-connection guards of the built-in broker. Packet size: aedes buffers a whole packet before it
 * parses it, so the limit must act earlier: this guard reads only the fixed header of each packet as bytes
 * arrive (type byte, then the remaining-length varint) and reports a packet over the limit as soon as its
 * length is known, before its body is read. Slow readers: what a client leaves unread is bounded by
 * maxQueuedBytes (see GuardedConnection._write). Either way the connection is closed; other clients are
 * unaffected.
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";

/** Largest remaining length MQTT can encode (4 varint bytes). */
const MAX_VARINT_BYTES = 4;

/** Incremental reader of MQTT fixed headers. */
export class PacketSizeGuard {
  readonly maxPacketBytes: number;
  #inHeader = true;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(maxPacketBytes: number) {
    this.maxPacketBytes = maxPacketBytes;
  }

  /**
   * Feeds received bytes. Returns 0 while every packet is within the limit, else the full size of the
   * first packet over it (Infinity for a malformed length).
   */
  feed(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#inHeader) {
        this.#inHeader = false;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes >= MAX_VARINT_BYTES) return Infinity;
        continue;
      }
      const size = 1 + this.#lengthBytes + this.#length;
      if (size > this.maxPacketBytes) return size;
      this.#remaining = this.#length;
      this.#inHeader = true;
    }
    return 0;
  }
}

export interface ConnectionLimits {
  readonly maxPacketBytes: number;
  /** Bytes written to the client but not yet taken by the kernel; beyond it the client is dropped. */
  readonly maxQueuedBytes: number;
}

export interface ConnectionEvents {
  onOversize(size: number): void;
  onSlowReader(queuedBytes: number): void;
}

/** A socket seen through the guards: aedes handles this stream instead of the socket. */
export class GuardedConnection extends Duplex {
  readonly #socket: Socket;
  readonly #maxQueuedBytes: number;
  readonly #onSlowReader: (queuedBytes: number) => void;

  constructor(socket: Socket, limits: ConnectionLimits, events: ConnectionEvents) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#maxQueuedBytes = limits.maxQueuedBytes;
    this.#onSlowReader = events.onSlowReader;
    const guard = new PacketSizeGuard(limits.maxPacketBytes);
    socket.on("data", (chunk: Uint8Array) => {
      const oversize = guard.feed(chunk);
      if (oversize > 0) {
        events.onOversize(oversize);
        socket.destroy();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (error: Error) => this.destroy(error));
    socket.on("close", () => this.destroy());
  }

  override _read(): void {
    this.#socket.resume();
  }

  /**
   * Hands the chunk to the socket without waiting for the kernel to take it. aedes waits for a write that
   * reports backpressure before it counts the message delivered, and a message is not done until every
   * subscriber has it: a client that stopped reading would stall each publisher to its topics, and every
   * other subscriber of those, until aedes' drainTimeout (60 s). So the socket buffers what the kernel
   * does not take, and a client leaving more than maxQueuedBytes unread is dropped.
   */
  override _write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk);
    callback(this.#overQueued());
  }

  override _writev(
    chunks: Array<{ chunk: Uint8Array }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#socket.cork();
    for (const { chunk } of chunks) this.#socket.write(chunk);
    this.#socket.uncork();
    callback(this.#overQueued());
  }

  #overQueued(): Error | null {
    const queued = this.#socket.writableLength;
    if (queued <= this.#maxQueuedBytes) return null;
    this.#onSlowReader(queued);
    return new Error(`Cannot deliver: the client left ${queued} bytes unread`);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}
