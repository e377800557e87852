// Carries one apiserver request to a node over its tunnel: a plain request as OPEN + body, answered by a
// RESPONSE head and the body; an upgrade (exec, attach) as OPEN + raw bytes both ways.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { TunnelMux } from "../../lib/tunnel/mux.ts";
import { headerPairs, HOP_BY_HOP, splice, writeRawError } from "./raw_http.ts";

export async function carryRequest(
  mux: TunnelMux,
  req: IncomingMessage,
  res: ServerResponse,
  headTimeoutMs: number,
): Promise<void> {
  const stream = mux.open({
    method: req.method ?? "GET",
    path: req.url ?? "/",
    headers: headerPairs(req, HOP_BY_HOP),
    upgrade: false,
  });
  stream.on("error", () => {/* reset: handled below by close */});
  req.pipe(stream);
  res.on("close", () => stream.destroy());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const head = await Promise.race([
    stream.response(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${headTimeoutMs} ms`)), headTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const headers: Record<string, string[]> = {};
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower)) (headers[lower] ??= []).push(value);
  }
  res.writeHead(head.status, headers);
  res.flushHeaders();
  stream.pipe(res);
  stream.on("close", () => {
    if (!res.writableEnded) res.destroy();
  });
}

export function carryUpgrade(mux: TunnelMux, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  let stream;
  try {
    stream = mux.open({
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: headerPairs(req),
      upgrade: true,
    });
  } catch (error) {
    return writeRawError(socket, 503, (error as Error).message);
  }
  if (head.length > 0) stream.write(head);
  splice(socket, stream);
}
