// Reading a request body that a peer controls: never more than `limit` bytes held. Answering a request whose
// body was not read needs care: a server that answers and closes while the client is still sending makes
// the client fail with EPIPE (or lose the answer to a TCP reset) instead of reading the 413 or 401. So, as Go's
// server does, a short rest is read and dropped; a long one is left unread (paused, nothing buffered), the
// complete answer is written, and the connection is held until the client hangs up or LINGER_MS pass.
import { Buffer } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Rest of a body read and dropped before an early answer; a longer rest is not read at all. */
export const MAX_DISCARD_BYTES = 256 * 1024;
/** How long a connection with an unread body is held open after its answer. */
export const LINGER_MS = 5_000;
/** Time allowed to send the body, unless the caller says otherwise. */
export const BODY_TIMEOUT_MS = 30_000;

export type BodyRead =
  | { readonly ok: true; readonly body: Uint8Array<ArrayBuffer> }
  | { readonly ok: false; readonly status: 408 | 413 | 400 };

/**
 * Reads the whole body, stopping (and pausing the request, nothing buffered) past `limit` bytes or after
 * `timeoutMs` (408: a body trickled a byte at a time would hold the connection as long as the client likes).
 */
export function readBody(
  incoming: IncomingMessage,
  limit: number,
  timeoutMs = BODY_TIMEOUT_MS,
): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      clearTimeout(timer);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onError);
      if (!result.ok) {
        incoming.pause();
        chunks.length = 0;
      }
      resolve(result);
    };
    const onData = (chunk: Uint8Array) => {
      size += chunk.byteLength;
      if (size > limit) return finish({ ok: false, status: 413 });
      chunks.push(chunk);
    };
    const onEnd = () => {
      const body = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.byteLength;
      }
      finish({ ok: true, body });
    };
    const onError = () => finish({ ok: false, status: 400 });
    const timer = setTimeout(() => finish({ ok: false, status: 408 }), timeoutMs);
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("aborted", onError);
  });
}

/** Answers with `status` and a text body; see the file comment for a request body left unread. */
export async function sendText(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  status: number,
  text: string,
): Promise<void> {
  const headers = { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) };
  if (await discardShortRest(incoming)) {
    outgoing.writeHead(status, headers);
    outgoing.end(text);
    return;
  }
  if (incoming.socket.destroyed) return;
  incoming.pause();
  outgoing.writeHead(status, { ...headers, connection: "close" });
  outgoing.write(text);
  const socket = incoming.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("close", () => clearTimeout(timer));
}

export function sendBytes(outgoing: ServerResponse, body: Uint8Array): void {
  outgoing.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.byteLength });
  outgoing.end(body);
}

/** Reads and drops what is left of the body if it ends within MAX_DISCARD_BYTES; true when it ended. */
function discardShortRest(incoming: IncomingMessage): Promise<boolean> {
  if (incoming.readableEnded) return Promise.resolve(true);
  const declared = Number(incoming.headers["content-length"] ?? 0);
  if (declared > MAX_DISCARD_BYTES || incoming.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let discarded = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("close", onClose);
      resolve(ended);
    };
    const onData = (chunk: Uint8Array) => {
      discarded += chunk.byteLength;
      if (discarded > MAX_DISCARD_BYTES) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(incoming.readableEnded);
    const timer = setTimeout(() => done(false), LINGER_MS);
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("close", onClose);
    incoming.resume();
  });
}
