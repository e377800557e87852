/**
 * A WebSocket client written by hand over node:tls, for frames `ws` refuses to send: fragments without
 * FIN, lying length headers, invalid UTF-8. It upgrades with the edge's client certificate and headers, then
 * writes masked frames as given and reads the hub's (unmasked) frames until the close frame.
 */
import { Buffer } from "node:buffer";
import tls from "node:tls";

export interface Credentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface RawSocket {
  readonly socket: tls.TLSSocket;
  /** Text frames received (replies to what was sent). */
  readonly texts: string[];
  /** The code in the hub's close frame: 1005 when it has none, 1006 when the socket ended without one. */
  readonly closed: Promise<number>;
  /** Writes bytes; resolves once they are handed to the kernel, rejects when the socket is gone. */
  write(bytes: Uint8Array): Promise<void>;
  destroy(): void;
}

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

export interface FrameOptions {
  readonly fin?: boolean;
  /** The length the header announces, when it should differ from the payload's (a lying header). */
  readonly announcedLength?: bigint;
}

/** A masked client frame. The header always uses the 64-bit length form when `announcedLength` is given. */
export function clientFrame(opcode: number, payload: Uint8Array, options: FrameOptions = {}): Uint8Array {
  const announced = options.announcedLength ?? BigInt(payload.byteLength);
  const long = options.announcedLength !== undefined || announced > 0xffffn;
  const lengthBytes = long ? 8 : announced > 125n ? 2 : 0;
  const out = new Uint8Array(2 + lengthBytes + 4 + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = ((options.fin ?? true) ? 0x80 : 0) | opcode;
  if (long) {
    out[1] = 0x80 | 127;
    view.setBigUint64(2, announced);
  } else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    view.setUint16(2, Number(announced));
  } else out[1] = 0x80 | Number(announced);
  const maskAt = 2 + lengthBytes;
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, maskAt);
  for (let i = 0; i < payload.byteLength; i++) out[maskAt + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** Opens a TLS connection as node `node` and upgrades it; rejects unless the hub answers 101. */
export function openRawWebSocket(port: number, credentials: Credentials, node: string): Promise<RawSocket> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    ca: credentials.caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
  });
  socket.on("error", () => {/* surfaced through `closed` */});
  const texts: string[] = [];
  let resolveClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => resolveClosed = resolve);
  socket.once("close", () => resolveClosed(1006));
  const raw: RawSocket = {
    socket,
    texts,
    closed,
    write: (bytes) =>
      new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error("Cannot write: the socket is closed"));
        socket.write(bytes, (err) => err ? reject(err) : resolve());
      }),
    destroy: () => void socket.destroy(),
  };
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    let upgraded = false;
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!upgraded) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = pending.subarray(0, pending.indexOf("\r\n")).toString("latin1");
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          socket.destroy();
          return reject(new Error(`Cannot upgrade: ${status}`));
        }
        upgraded = true;
        pending = pending.subarray(end + 4);
        resolve(raw);
      }
      pending = readServerFrames(pending, texts, resolveClosed);
    };
    socket.on("data", onData);
    socket.once("close", () => reject(new Error("Cannot upgrade: the connection closed")));
    socket.once("secureConnect", () => {
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
      socket.write(
        `GET /p/${node}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `node_id: ${node}\r\nproject_id: p\r\n\r\n`,
      );
    });
  });
}

/** Consumes the complete server frames at the start of `data`; returns the incomplete rest. */
function readServerFrames(data: Buffer, texts: string[], onClose: (code: number) => void): Buffer {
  for (;;) {
    if (data.length < 2) return data;
    const opcode = data[0]! & 0x0f;
    let length = data[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.length < 4) return data;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.length < 10) return data;
      length = Number(data.readBigUInt64BE(2));
      offset = 10;
    }
    if (data.length < offset + length) return data;
    const payload = data.subarray(offset, offset + length);
    if (opcode === 0x8) onClose(length >= 2 ? payload.readUInt16BE(0) : 1005);
    else if (opcode === OPCODE_TEXT) texts.push(payload.toString("utf8"));
    data = data.subarray(offset + length);
  }
}
