// Carries one tunnelled request to the kubelet-style server on the box: a plain request through node:http
// (reply head as RESPONSE, body as DATA), an upgrade (exec, attach) as raw bytes on a TCP connection.
import http from "node:http";
import net from "node:net";
import type { OpenHead, TunnelStream } from "../../lib/tunnel/mux.ts";

export interface LocalTarget {
  readonly host: string;
  readonly port: number;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
]);

export function serveLocally(stream: TunnelStream, head: OpenHead, target: LocalTarget): void {
  stream.on("error", () => {/* reset by the cloud or the tunnel went away */});
  if (!/^\/[\x21-\x7e]*$/.test(head.path) || head.path.startsWith("//")) {
    stream.respond({ status: 400, headers: [["content-type", "text/plain"]] });
    stream.end("Cannot serve: bad request path");
    return;
  }
  if (head.upgrade) return upgrade(stream, head, target);
  const headers: Record<string, string[]> = {};
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower)) (headers[lower] ??= []).push(value);
  }
  const req = http.request({
    host: target.host,
    port: target.port,
    method: head.method,
    path: head.path,
    headers: { ...headers, connection: "close" },
  });
  req.on("response", (res) => {
    const out: [string, string][] = [];
    const raw = res.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] ?? "";
      if (!HOP_BY_HOP.has(name.toLowerCase())) out.push([name, raw[i + 1] ?? ""]);
    }
    stream.respond({ status: res.statusCode ?? 502, headers: out });
    res.pipe(stream);
    res.on("error", () => stream.destroy());
    stream.on("close", () => res.destroy());
  });
  req.on("error", (error) => {
    stream.respond({ status: 502, headers: [["content-type", "text/plain"]] });
    stream.end(`Cannot reach the kubelet server on the edge: ${error.message}`);
  });
  stream.pipe(req);
}

function upgrade(stream: TunnelStream, head: OpenHead, target: LocalTarget): void {
  const socket = net.connect(target.port, target.host);
  const lines = [`${head.method} ${head.path} HTTP/1.1`, `Host: ${target.host}:${target.port}`];
  for (const [name, value] of head.headers) {
    if (name.toLowerCase() === "host" || /[\r\n]/.test(name + value)) continue;
    lines.push(`${name}: ${value}`);
  }
  socket.write(lines.join("\r\n") + "\r\n\r\n");
  stream.pipe(socket);
  socket.pipe(stream);
  // As cloud/stream's splice: a clean close ends the other side after its last byte (exec's exit status is
  // the last thing containerd sends); only an error destroys both.
  const fail = () => {
    socket.destroy();
    stream.destroy();
  };
  socket.on("error", fail);
  socket.on("close", () => {
    if (!stream.writableEnded) stream.end();
  });
  stream.on("close", () => {
    if (!socket.writableEnded) socket.end();
  });
}
