/**
 * The ServiceBus (KubeEdge's edge/pkg/servicebus): the cloud's rest -> servicebus calls made to an app on
 * this box, `http://127.0.0.1:<port><path>` (loopback only, as upstream), and its answer returned as an
 * HTTPResponse. Bounded: the request body (the message is already bounded), the answer body, the time the
 * app has, and the calls running at once. When the app cannot be called the answer is made here, as
 * KubeEdge makes it: header `Server: kubeedge-edgecore`, 400 for a request that cannot be read, 404 for an
 * app that cannot be called, 500 for an answer that cannot be read (too large included).
 */
import type { Logger } from "../../lib/log.ts";
import { headersFromWire, headersToWire } from "../../lib/http_headers.ts";
import { type HttpResponseWire, parseHttpRequest } from "../../lib/protocol/mod.ts";

export interface ServiceBusOptions {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxConcurrentCalls: number;
  readonly log: Logger;
  /** Where apps are called; KubeEdge's loopback unless a test says otherwise. */
  readonly host?: string;
}

export type CallResult = "ok" | "bad_request" | "unreachable" | "timeout" | "too_large" | "busy";

export const EDGE_SERVER_HEADER = "kubeedge-edgecore";
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const encoder = new TextEncoder();

export class ServiceBus {
  readonly #o: ServiceBusOptions;
  #running = 0;

  constructor(options: ServiceBusOptions) {
    this.#o = options;
  }

  /** Calls the app `resource` (`<port>:<path>`) names with the HTTPRequest in `content`. Never throws. */
  async call(
    method: string,
    resource: string,
    content: unknown,
  ): Promise<{ answer: HttpResponseWire; result: CallResult }> {
    const colon = resource.indexOf(":");
    const portText = resource.slice(0, colon);
    const path = resource.slice(colon + 1);
    const port = Number(portText);
    if (colon < 1 || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535 || !path.startsWith("/")) {
      return made(400, `the format of resource ${resource.slice(0, 200)} is incorrect`, "bad_request");
    }
    let request;
    try {
      request = parseHttpRequest(content, this.#o.maxBodyBytes);
    } catch (error) {
      return made(400, `error to parse http request: ${(error as Error).message}`, "bad_request");
    }
    const verb = (request.method || method).toUpperCase();
    if (!METHOD.test(verb)) return made(400, "error to parse http request: bad method", "bad_request");
    if (this.#running >= this.#o.maxConcurrentCalls) {
      return made(503, "error to call service: too many calls running", "busy");
    }
    this.#running++;
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    const url = `http://${this.#o.host ?? "127.0.0.1"}:${port}${path}`;
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(headersFromWire(request.header))) {
        for (const v of Array.isArray(value) ? value : [String(value)]) headers.append(name, v);
      }
      const hasBody = verb !== "GET" && verb !== "HEAD";
      const response = await fetch(url, {
        method: verb,
        headers,
        body: hasBody ? request.body as Uint8Array<ArrayBuffer> : undefined,
        signal,
        redirect: "manual",
      });
      const body = await readAtMost(response, this.#o.maxBodyBytes);
      if (body === undefined) {
        return made(500, "error to receive response, err: response body too large", "too_large");
      }
      return {
        answer: { header: headersToWire(response.headers), status_code: response.status, body },
        result: "ok",
      };
    } catch (error) {
      if (signal.aborted) {
        return made(404, `error to call service: no answer within ${this.#o.timeoutMs} ms`, "timeout");
      }
      this.#o.log.debug("servicebus call failed", { url, error });
      return made(404, `error to call service: ${(error as Error).message}`, "unreachable");
    } finally {
      this.#running--;
    }
  }
}

function made(
  status: number,
  text: string,
  result: CallResult,
): { answer: HttpResponseWire; result: CallResult } {
  return {
    answer: { header: { Server: [EDGE_SERVER_HEADER] }, status_code: status, body: encoder.encode(text) },
    result,
  };
}

/** The whole body, or undefined when it is over `limit` bytes (the rest is not read). */
async function readAtMost(response: Response, limit: number): Promise<Uint8Array | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
