/**
 * Headers carried across a hop (the Router's rest endpoint -> the box's app, and back): hop-by-hop and
 * framing headers are dropped, the rest kept as name -> values (Go's http.Header on the wire).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** Whether a header may cross a hop. */
export function isEndToEndHeader(name: string): boolean {
  return !HOP_BY_HOP.has(name.toLowerCase());
}

/** node:http's incoming headers as Go's http.Header (canonical names are not needed: HTTP names are case-free). */
export function headersToWire(headers: IncomingHttpHeaders | Headers): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (name: string, value: string) => {
    if (!isEndToEndHeader(name)) return;
    (out[name] ??= []).push(value);
  };
  if (headers instanceof Headers) {
    headers.forEach((value, name) => add(name, value));
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) add(name, v);
    }
  }
  return out;
}

/** Wire headers for a fetch() or a node:http response; hop-by-hop ones left out. */
export function headersFromWire(header: Record<string, string[]>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, values] of Object.entries(header)) {
    if (!isEndToEndHeader(name) || values.length === 0) continue;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) continue;
    const clean = values.filter((v) => !/[\r\n\0]/.test(v));
    if (clean.length > 0) out[name.toLowerCase()] = clean.length === 1 ? clean[0] : clean;
  }
  return out;
}
