/**
 * Slowloris guards shared by every node:http and node:https server of kedge. Node's defaults let a peer
 * that sends nothing, or a byte now and then, hold a socket 120 s in the TLS handshake, then 60 s for its
 * request headers, which are only checked every 30 s: a few thousand such sockets exhaust the descriptors.
 * These options end both after `timeoutMs` (checked every second). Neither applies to an upgraded
 * connection or to a response being streamed (watches, followed logs).
 */

/** The timeout every server uses unless told otherwise. */
export const DEFAULT_SERVER_TIMEOUT_MS = 10_000;

/** node:http accepts no headersTimeout above its requestTimeout, 300 s by default. */
const MAX_TIMEOUT_MS = 300_000;

/** node:http server options: the request headers within `timeoutMs`. */
export function httpServerTimeouts(timeoutMs: number): {
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`Cannot use server timeout ${timeoutMs}: expected 1 to ${MAX_TIMEOUT_MS} ms`);
  }
  return { headersTimeout: timeoutMs, connectionsCheckingInterval: Math.min(1_000, timeoutMs) };
}

/** node:https server options: the TLS handshake within `timeoutMs`, then the request headers within it. */
export function httpsServerTimeouts(timeoutMs: number): {
  handshakeTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return { handshakeTimeout: timeoutMs, ...httpServerTimeouts(timeoutMs) };
}
