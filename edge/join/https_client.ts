// One HTTPS request through node:https: it can send a body on GET (upstream's /edge.crt wants one, fetch
// forbids it), present a client certificate, and trust a CA given as PEM. Response bodies are bounded.
import { Buffer } from "node:buffer";
import { request } from "node:https";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface HttpsRequestOptions {
  readonly url: string;
  readonly method?: "GET" | "POST";
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** PEM of the CA to trust; "insecure" skips verification (only for fetching /ca.crt itself). */
  readonly trust: string | "insecure";
  /** Client certificate and key, PEM. */
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly maxResponseBytes: number;
  readonly timeoutMs?: number;
}

export interface HttpsResponse {
  readonly status: number;
  readonly body: Uint8Array;
}

/** Rejects with Error "Cannot reach <url>: ..." on a connection, TLS, size or timeout failure. */
export function httpsRequest(options: HttpsRequestOptions): Promise<HttpsResponse> {
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const body = options.body ?? new Uint8Array();
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => {
      req.destroy();
      reject(new Error(`Cannot reach ${url.origin}${url.pathname}: ${why}`, { cause }));
    };
    const req = request({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? 443 : Number(url.port),
      path: url.pathname + url.search,
      method: options.method ?? "GET",
      headers: { ...options.headers, "content-length": String(body.byteLength) },
      ...(options.trust === "insecure" ? { rejectUnauthorized: false } : { ca: options.trust }),
      ...(options.clientCertPem ? { cert: options.clientCertPem, key: options.clientKeyPem } : {}),
      agent: false,
      timeout: timeoutMs,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.byteLength;
        if (size > options.maxResponseBytes) {
          return fail(`answer larger than ${options.maxResponseBytes} bytes`);
        }
        chunks.push(chunk);
      });
      res.on(
        "end",
        () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }),
      );
      res.on("error", (err) => fail(err.message, err));
    });
    req.on("timeout", () => fail(`no answer in ${timeoutMs} ms`));
    req.on("error", (err) => fail(err.message, err));
    req.end(body);
  });
}
