// Raw HTTP on an upgraded socket: an error reply written by hand, and the request head rebuilt to send the
// same request to another server (the kubelet way of handing exec and attach to the CRI streaming server).
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

export function writeRawError(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(message);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n\r\n${message}`,
  );
}

const HOP_BY_HOP_KEEP = new Set(["connection", "upgrade"]);

/** `METHOD target HTTP/1.1` plus the request's headers with Host replaced. */
export function requestHead(
  req: IncomingMessage,
  target: string,
  host: string,
  extra: Record<string, string> = {},
): string {
  const lines = [`${req.method ?? "GET"} ${target} HTTP/1.1`, `Host: ${host}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const lower = name.toLowerCase();
    if (lower === "host" || lower in extra) continue;
    if (/[\r\n]/.test(name) || /[\r\n]/.test(raw[i + 1] ?? "")) continue;
    if (!HOP_BY_HOP_KEEP.has(lower) && lower.startsWith("proxy-")) continue;
    lines.push(`${name}: ${raw[i + 1]}`);
  }
  for (const [name, value] of Object.entries(extra)) lines.push(`${name}: ${value}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Pipes two sockets both ways; each end closes the other. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", close);
  b.on("error", close);
  a.on("close", close);
  b.on("close", close);
}
