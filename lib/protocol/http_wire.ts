/**
 * The Router's messages between cloud and edge, as KubeEdge v1.23.1 writes them (common/types/http.go,
 * cloud/pkg/router/provider, edge/pkg/servicebus, edge/pkg/eventbus):
 *
 * - cloud -> edge, source `router_eventbus`, group `user`: `subscribe` / `unsubscribe` with resource
 *   `<namespace>/<topic>` (the MQTT topic the box subscribes to), `publish` with resource `<topic>` and the
 *   HTTP body as a string content.
 * - edge -> cloud, source `bus`, group `user`, operation `upload`, resource the MQTT topic, content the
 *   payload as a string.
 * - cloud -> edge, source `router_servicebus`, group `user`, operation the HTTP method, resource
 *   `<port>:<path>`, content an HTTPRequest; the edge answers with source `servicebus`, group `user`,
 *   operation `upload`, empty resource, parent_msg_id = the request's msg_id and an HTTPResponse.
 *
 * Go encodes `[]byte` as standard base64 (nil as null) and `http.Header` as name -> list of values.
 */
import { Buffer } from "node:buffer";
import * as v from "valibot";

export const ROUTER_EVENTBUS_SOURCE = "router_eventbus";
export const ROUTER_SERVICEBUS_SOURCE = "router_servicebus";
/** Source of the edge's MQTT uploads (KubeEdge's modules.BusGroup). */
export const BUS_SOURCE = "bus";
/** Source of the edge's ServiceBus answers. */
export const SERVICEBUS_SOURCE = "servicebus";
/** The ServiceBus's own operations (servicebus as a rule source); every other operation is an HTTP method. */
export const SERVICEBUS_START = "start";
export const SERVICEBUS_STOP = "stop";

/** Header names and values a peer may send; more is refused, not cut. */
export const MAX_HEADERS = 100;
const MAX_HEADER_TEXT = 8 * 1024;

export type HttpHeader = Record<string, string[]>;

export interface HttpRequestWire {
  readonly header: HttpHeader;
  readonly body: Uint8Array;
  readonly method: string;
  readonly url: string;
}

export interface HttpResponseWire {
  readonly header: HttpHeader;
  readonly status_code: number;
  readonly body: Uint8Array;
}

const HeaderSchema = v.optional(
  v.pipe(
    v.nullable(
      v.record(
        v.pipe(v.string(), v.maxLength(256, "a header name is longer than 256 characters")),
        v.array(v.pipe(v.string(), v.maxLength(MAX_HEADER_TEXT, "a header value is too long"))),
      ),
    ),
    v.transform((h): HttpHeader => h ?? {}),
    v.check((h) => Object.keys(h).length <= MAX_HEADERS, `more than ${MAX_HEADERS} headers`),
  ),
  null,
);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bodySchema(maxBytes: number) {
  return v.optional(
    v.pipe(
      v.nullable(v.string()),
      v.check(
        (s) => s == null || s.length <= Math.ceil(maxBytes / 3) * 4 + 4,
        `body is over ${maxBytes} bytes`,
      ),
      v.check((s) => s == null || BASE64.test(s), "body is not base64"),
      v.transform((s): Uint8Array => s == null ? new Uint8Array() : new Uint8Array(Buffer.from(s, "base64"))),
      v.check((b) => b.byteLength <= maxBytes, `body is over ${maxBytes} bytes`),
    ),
    null,
  );
}

/** Reads an HTTPRequest content; the body at most `maxBytes`. Throws ValiError. */
export function parseHttpRequest(content: unknown, maxBytes: number): HttpRequestWire {
  return v.parse(
    v.object({
      header: HeaderSchema,
      body: bodySchema(maxBytes),
      method: v.optional(v.string(), ""),
      url: v.optional(v.string(), ""),
    }),
    content,
  );
}

/** Reads an HTTPResponse content; the body at most `maxBytes`. Throws ValiError. */
export function parseHttpResponse(content: unknown, maxBytes: number): HttpResponseWire {
  return v.parse(
    v.object({
      header: HeaderSchema,
      status_code: v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)),
      body: bodySchema(maxBytes),
    }),
    content,
  );
}

/** The JSON content of an HTTPRequest or HTTPResponse, the body in base64 as Go writes `[]byte`. */
export function httpRequestContent(r: HttpRequestWire): Record<string, unknown> {
  return { header: r.header, body: base64(r.body), method: r.method, url: r.url };
}

export function httpResponseContent(r: HttpResponseWire): Record<string, unknown> {
  return { header: r.header, status_code: r.status_code, body: base64(r.body) };
}

function base64(bytes: Uint8Array): string | null {
  return bytes.byteLength === 0
    ? null
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** The message content as the text the box sees: a string as is, anything else as JSON. */
export function contentText(content: unknown): string {
  return typeof content === "string" ? content : JSON.stringify(content ?? null);
}
