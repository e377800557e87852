/**
 * Limits on one SPDY/3.1 connection that the edge relays byte for byte (a port forward handed to the
 * runtime's streaming server): the frames are read as they pass, both ways, without being buffered or
 * changed, and the first one over a limit is reported so the relay can cut the connection.
 *
 * - A frame longer than `maxDataFrameBytes` (data) or `maxControlFrameBytes` (control) is refused. The Go
 *   SPDY reader on the other side reads a whole frame into memory, up to 16 MiB each.
 * - At most `maxStreams` streams are open at once. A stream opens with SYN_STREAM and closes when both
 *   sides have sent FIN (on SYN_STREAM, SYN_REPLY, HEADERS or DATA) or either side sent RST_STREAM. A port
 *   forward uses two streams (data and error) per forwarded TCP connection.
 *
 * Memory is constant: each direction keeps at most one frame header (12 bytes) and, on the server side,
 * the HTTP reply head (at most `maxReplyHeadBytes`) before the frames start.
 */

export interface SpdyLimits {
  /** Streams open at once. Default 256 (128 forwarded TCP connections). */
  readonly maxStreams?: number;
  /** Largest DATA frame payload. Default 1 MiB (Go's io.Copy writes 32 KiB frames). */
  readonly maxDataFrameBytes?: number;
  /** Largest control frame payload. Default 64 KiB. */
  readonly maxControlFrameBytes?: number;
  /** Largest HTTP reply head before the server's frames. Default 16 KiB. */
  readonly maxReplyHeadBytes?: number;
}

export type SpdySide = "client" | "server";

const FLAG_FIN = 0x01;
const FLAG_UNIDIRECTIONAL = 0x02;
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const HEADERS = 8;
const WINDOW_UPDATE = 9;
/** Control frame types whose payload starts with a stream id. */
const WITH_STREAM_ID = new Set([SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE]);

/** Reads frame headers out of one direction's bytes, in any chunking. */
class FrameReader {
  readonly #header = new Uint8Array(12);
  #have = 0;
  #want = 8;
  /** Payload bytes of the current frame still to pass. */
  #skip = 0;

  constructor(readonly onFrame: (header: Uint8Array, withId: boolean) => string | undefined) {}

  feed(chunk: Uint8Array): string | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(this.#want - this.#have, chunk.length - at);
      this.#header.set(chunk.subarray(at, at + n), this.#have);
      this.#have += n;
      at += n;
      if (this.#have < this.#want) break;
      const h = this.#header;
      const control = (h[0]! & 0x80) !== 0;
      const length = (h[5]! << 16) | (h[6]! << 8) | h[7]!;
      const type = (h[2]! << 8) | h[3]!;
      if (this.#want === 8 && control && WITH_STREAM_ID.has(type) && length >= 4) {
        // The stream id is the first word of the payload: read it before judging the frame.
        this.#want = 12;
        continue;
      }
      const problem = this.onFrame(h, this.#want === 12);
      if (problem) return problem;
      this.#skip = length - (this.#want - 8);
      this.#have = 0;
      this.#want = 8;
    }
    return undefined;
  }
}

export class SpdyGuard {
  readonly #maxStreams: number;
  readonly #maxData: number;
  readonly #maxControl: number;
  readonly #maxHead: number;
  /** Open stream id -> which sides have finished sending (bit 1 client, bit 2 server). */
  readonly #streams = new Map<number, number>();
  readonly #client: FrameReader;
  readonly #server: FrameReader;
  /** The server's reply head read so far; undefined once the frames started (or the reply was no 101). */
  #head: string | undefined = "";
  #passThrough = false;
  /** The first problem; every later call reports it again (the relay cuts the connection on it). */
  #problem: string | undefined;

  constructor(limits: SpdyLimits = {}) {
    this.#maxStreams = limits.maxStreams ?? 256;
    this.#maxData = limits.maxDataFrameBytes ?? 1024 * 1024;
    this.#maxControl = limits.maxControlFrameBytes ?? 64 * 1024;
    this.#maxHead = limits.maxReplyHeadBytes ?? 16 * 1024;
    this.#client = new FrameReader((h, withId) => this.#frame("client", h, withId));
    this.#server = new FrameReader((h, withId) => this.#frame("server", h, withId));
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.#streams.size;
  }

  /** Bytes from the client (after the request head): a problem, or undefined when they may pass. */
  fromClient(chunk: Uint8Array): string | undefined {
    if (this.#problem || this.#passThrough) return this.#problem;
    return this.#problem = this.#client.feed(chunk);
  }

  /** Bytes from the server, starting with its HTTP reply head. */
  fromServer(chunk: Uint8Array): string | undefined {
    if (this.#problem || this.#passThrough) return this.#problem;
    return this.#problem = this.#fromServer(chunk);
  }

  #fromServer(chunk: Uint8Array): string | undefined {
    if (this.#head !== undefined) {
      const text = this.#head + new TextDecoder("latin1").decode(chunk);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        if (text.length > this.#maxHead) return `the reply head is longer than ${this.#maxHead} bytes`;
        this.#head = text;
        return undefined;
      }
      this.#head = undefined;
      // An error reply (no upgrade) is a plain HTTP answer: nothing more to watch.
      if (!/^HTTP\/1\.[01] 101 /.test(text)) {
        this.#passThrough = true;
        return undefined;
      }
      const consumed = end + 4 - (text.length - chunk.length);
      return this.#server.feed(chunk.subarray(consumed));
    }
    return this.#server.feed(chunk);
  }

  #frame(side: SpdySide, h: Uint8Array, withId: boolean): string | undefined {
    const control = (h[0]! & 0x80) !== 0;
    const flags = h[4]!;
    const length = (h[5]! << 16) | (h[6]! << 8) | h[7]!;
    const bit = side === "client" ? 1 : 2;
    if (!control) {
      if (length > this.#maxData) {
        return `a data frame of ${length} bytes from the ${side} is over the limit of ${this.#maxData}`;
      }
      const id = ((h[0]! & 0x7f) << 24 | h[1]! << 16 | h[2]! << 8 | h[3]!) >>> 0;
      if (flags & FLAG_FIN) this.#finish(id, bit);
      return undefined;
    }
    if (length > this.#maxControl) {
      return `a control frame of ${length} bytes from the ${side} is over the limit of ${this.#maxControl}`;
    }
    if (!withId) return undefined;
    const type = (h[2]! << 8) | h[3]!;
    const id = ((h[8]! & 0x7f) << 24 | h[9]! << 16 | h[10]! << 8 | h[11]!) >>> 0;
    switch (type) {
      case SYN_STREAM: {
        if (!this.#streams.has(id)) {
          if (this.#streams.size >= this.#maxStreams) {
            return `the ${side} opened more than ${this.#maxStreams} streams at once`;
          }
          // A unidirectional stream is finished by the receiver from the start.
          this.#streams.set(id, flags & FLAG_UNIDIRECTIONAL ? 3 - bit : 0);
        }
        if (flags & FLAG_FIN) this.#finish(id, bit);
        return undefined;
      }
      case SYN_REPLY:
      case HEADERS:
        if (flags & FLAG_FIN) this.#finish(id, bit);
        return undefined;
      case RST_STREAM:
        this.#streams.delete(id);
        return undefined;
      default:
        return undefined;
    }
  }

  #finish(id: number, bit: number): void {
    const done = this.#streams.get(id);
    if (done === undefined) return;
    if ((done | bit) === 3) this.#streams.delete(id);
    else this.#streams.set(id, done | bit);
  }
}
