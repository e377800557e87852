/**
 * Unary gRPC calls to a unix socket over HTTP/2 without TLS, through Deno's own HTTP client (fetch with a
 * unix-socket transport, HTTP/2 only: gRPC's "prior knowledge"). Its HTTP/2 is Rust; grpc-js's runs on the
 * JavaScript polyfill of node:http2, which an idle edgecore paid for on every relist (bench/README.md).
 *
 * What fetch does not show is HTTP trailers, where a gRPC server puts the status after a reply. A server
 * that fails a call before replying sends the status in the headers instead ("Trailers-Only"), which fetch
 * shows; a reply message means the call succeeded, as a unary call has one reply or none. A reply without
 * a message nor a status in its headers is reported as UNKNOWN.
 */

/** gRPC status codes this transport reports itself. */
export const GRPC_CODE = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export class GrpcCallError extends Error {
  override readonly name = "GrpcCallError";
  constructor(readonly code: number, readonly details: string, options?: ErrorOptions) {
    super(details, options);
  }
}

export interface UnaryChannelOptions {
  /** The socket's path (a `unix://` prefix is taken off). */
  readonly socket: string;
  /** Largest reply message accepted, in bytes. */
  readonly maxReceiveBytes: number;
  /** Largest request message sent, in bytes. */
  readonly maxSendBytes: number;
}

export interface UnaryChannel {
  /** Calls `path` (`/package.Service/Method`) with a serialized request; returns the serialized reply. */
  call(path: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  close(): void;
}

const HEADER_BYTES = 5;

export function unaryChannel(options: UnaryChannelOptions): UnaryChannel {
  const socket = options.socket.replace(/^unix:\/\//, "");
  const client = Deno.createHttpClient({
    proxy: { transport: "unix", path: socket },
    http1: false,
    http2: true,
  });
  return {
    async call(path, request, timeoutMs) {
      if (request.length > options.maxSendBytes) {
        throw new GrpcCallError(
          GRPC_CODE.RESOURCE_EXHAUSTED,
          `request of ${request.length} bytes over the ${options.maxSendBytes}-byte limit`,
        );
      }
      const body = new Uint8Array(HEADER_BYTES + request.length);
      new DataView(body.buffer).setUint32(1, request.length);
      body.set(request, HEADER_BYTES);
      // A timer cleared when the call ends: AbortSignal.timeout would keep the signal, and through it the
      // request and its reply buffers, alive for the whole deadline (2 minutes by default) after every call.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeoutMs);
      const signal = deadline.signal;
      try {
        const response = await fetch(`http://localhost${path}`, {
          method: "POST",
          client,
          body,
          signal,
          headers: {
            "content-type": "application/grpc",
            "te": "trailers",
            "grpc-timeout": grpcTimeout(timeoutMs),
          },
        });
        const status = response.headers.get("grpc-status");
        if (status !== null && status !== "0") {
          await response.body?.cancel();
          throw new GrpcCallError(Number(status) || GRPC_CODE.UNKNOWN, grpcMessage(response.headers, status));
        }
        if (
          response.status !== 200 || !response.headers.get("content-type")?.startsWith("application/grpc")
        ) {
          await response.body?.cancel();
          throw new GrpcCallError(
            response.status === 200 ? GRPC_CODE.UNKNOWN : httpStatusCode(response.status),
            `not a gRPC reply: HTTP ${response.status} ${response.headers.get("content-type") ?? ""}`.trim(),
          );
        }
        return await readMessage(response, options.maxReceiveBytes);
      } catch (error) {
        if (error instanceof GrpcCallError) throw error;
        if (signal.aborted) {
          throw new GrpcCallError(GRPC_CODE.DEADLINE_EXCEEDED, `deadline exceeded after ${timeoutMs} ms`, {
            cause: error,
          });
        }
        // Connect failures, resets and GOAWAY: the runtime is not there (now); callers retry on this code.
        // fetch names only its placeholder URL, so the socket is named here (which runtime, for the user).
        throw new GrpcCallError(GRPC_CODE.UNAVAILABLE, `unix://${socket}: ${connectError(error)}`, {
          cause: error,
        });
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      client.close();
    },
  };
}

/** The one message of a unary reply, read with the size limit checked before the bytes arrive. */
async function readMessage(response: Response, maxBytes: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) throw new GrpcCallError(GRPC_CODE.UNKNOWN, "reply without a message nor a status");
  const chunks: Uint8Array[] = [];
  let received = 0;
  let length = -1;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value && value.length > 0) {
        chunks.push(value);
        received += value.length;
      }
      if (length < 0 && received >= HEADER_BYTES) {
        const header = join(chunks, received).subarray(0, HEADER_BYTES);
        if (header[0] !== 0) {
          throw new GrpcCallError(GRPC_CODE.INTERNAL, "compressed reply, none was asked for");
        }
        length = new DataView(header.buffer, header.byteOffset).getUint32(1);
        if (length > maxBytes) {
          throw new GrpcCallError(
            GRPC_CODE.RESOURCE_EXHAUSTED,
            `reply of ${length} bytes over the ${maxBytes}-byte limit`,
          );
        }
      }
      if (length >= 0 && received >= HEADER_BYTES + length) {
        return join(chunks, received).slice(HEADER_BYTES, HEADER_BYTES + length);
      }
      if (done) {
        throw new GrpcCallError(
          GRPC_CODE.UNKNOWN,
          received === 0 ? "reply without a message nor a status" : "reply message cut short",
        );
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The chunks as one array, kept as the only chunk so that joining again costs nothing. */
function join(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  chunks.splice(0, chunks.length, out);
  return out;
}

/** gRPC's timeout header: at most 8 digits and a unit. */
function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

/** The status message, percent-decoded as the gRPC spec has it sent. */
function grpcMessage(headers: Headers, status: string): string {
  const raw = headers.get("grpc-message");
  if (!raw) return `gRPC status ${status}`;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** gRPC's mapping of HTTP statuses for replies that are not gRPC (a proxy's, for instance). */
function httpStatusCode(status: number): number {
  if (status === 400) return GRPC_CODE.INTERNAL;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if ([429, 502, 503, 504].includes(status)) return GRPC_CODE.UNAVAILABLE;
  return GRPC_CODE.UNKNOWN;
}

/** fetch's message without its placeholder URL ("error sending request for url (http://localhost/...): "). */
function connectError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}
