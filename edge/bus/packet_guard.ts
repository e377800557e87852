/**
 * The MQTT packet size limit of the built-in broker. aedes buffers a whole packet before it parses it, so
 * the limit must act earlier: this guard reads only the fixed header of each packet as bytes arrive
 * (type byte, then the remaining-length varint) and reports a packet over the limit as soon as its length
 * is known, before its body is read. The connection is then closed; other clients are unaffected.
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

/** A socket seen through a PacketSizeGuard: aedes handles this stream instead of the socket. */
export class GuardedConnection extends Duplex {
  readonly #socket: Socket;

  constructor(socket: Socket, maxPacketBytes: number, onOversize: (size: number) => void) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    const guard = new PacketSizeGuard(maxPacketBytes);
    socket.on("data", (chunk: Uint8Array) => {
      const oversize = guard.feed(chunk);
      if (oversize > 0) {
        onOversize(oversize);
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

  /** Bytes written but not yet taken by the kernel: what a slow reader makes the broker hold. */
  get queuedBytes(): number {
    return this.writableLength + this.#socket.writableLength;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void): void {
    this.#socket.write(chunk, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Uint8Array }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.#socket.write(chunks[i]!.chunk);
    this.#socket.write(chunks[chunks.length - 1]!.chunk, callback);
    this.#socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#socket.end(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.destroy();
    callback(error);
  }
}
