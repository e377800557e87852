// Raw HTTP on an upgraded socket: an error reply written by hand, a request head rebuilt for the next hop,
// and two sockets spliced together.
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

export function writeRawError(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`,
  );
}

/** The request's headers as pairs, without Host and without those named in `drop`. */
export function headerPairs(req: IncomingMessage, drop: ReadonlySet<string> = new Set()): [string, string][] {
  const out: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    if (lower === "host" || drop.has(lower) || /[\r\n]/.test(name + (raw[i + 1] ?? ""))) continue;
    out.push([name, raw[i + 1] ?? ""]);
  }
  return out;
}

export function rawHead(method: string, path: string, host: string, headers: [string, string][]): string {
  return [`${method} ${path} HTTP/1.1`, `Host: ${host}`, ...headers.map(([n, v]) => `${n}: ${v}`)].join(
    "\r\n",
  ) +
    "\r\n\r\n";
}

/** Pipes two streams both ways; either end closing closes the other. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  // A clean close travels through pipe as end() after the last byte. Destroying the other side on close
  // would drop bytes still queued there, such as the exit status exec sends last; only an error tears both
  // down at once.
  const fail = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", fail);
  b.on("error", fail);
  a.on("close", () => {
    if (!b.writableEnded) b.end();
  });
  b.on("close", () => {
    if (!a.writableEnded) a.end();
  });
}

export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);
