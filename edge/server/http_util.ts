// Small helpers for the node:http handlers of the kubelet-style server and the MetaServer: an error that
// carries its HTTP status, replies as text or JSON, query flags read the way the kubelet reads them.
import type { ServerResponse } from "node:http";

/** A request that cannot be served; `status` is the HTTP status to answer with. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(readonly status: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** "1", "true" (any case) and a bare `?flag` are true; absent, "0" and "false" are false. */
export function queryFlag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null) return false;
  return value === "" || value === "1" || value.toLowerCase() === "true";
}

/** A non-negative integer query value, or undefined when absent; HttpError 400 when malformed or above max. */
export function queryInt(
  params: URLSearchParams,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = params.get(name);
  if (value === null || value === "") return undefined;
  if (!/^\d{1,16}$/.test(value) || Number(value) > max) {
    throw new HttpError(400, `Cannot read query: ${name} must be an integer from 0 to ${max}`);
  }
  return Number(value);
}

/** Path segments, decoded; HttpError 400 for a malformed escape. */
export function pathSegments(path: string): string[] {
  try {
    return path.split("/").filter((s) => s.length > 0).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "Cannot read path: malformed percent-encoding");
  }
}
