/** CloudHub's options and their defaults (KubeEdge's where it has one). */
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import type { Message } from "../../lib/protocol/mod.ts";
import { DEFAULT_SERVER_TIMEOUT_MS } from "../../lib/server_timeouts.ts";
import { edgeMessageLane, type Lane } from "./inbox.ts";

export interface CloudHubTls {
  /** The KubeEdge CA that signs edge client certificates (and usually the server certificate). */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CloudHubOptions {
  readonly address: string;
  /** 0 picks a free port; see {@link CloudHub.port}. */
  readonly port: number;
  readonly tls: CloudHubTls;
  readonly log: Logger;
  readonly registry: Registry;
  /** Handles a message from an edge; the returned message (if any) is sent back, a throw becomes an error reply. */
  readonly onMessage: (node: string, message: Message) => Promise<Message | undefined>;
  /** A node opened a session (also after replacing its own older session). */
  readonly onConnect?: (node: string) => void;
  /** A node has no session any more. */
  readonly onDisconnect?: (node: string) => void;
  /** Largest frame either way, in bytes. Default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** Silence after which a session is dropped. Default 30 s. */
  readonly keepaliveTimeoutMs?: number;
  /** Most nodes with a session; one more is refused with 503. Default 500. */
  readonly nodeLimit?: number;
  /** Most objects queued per node. Default 10,000. */
  readonly queueLimit?: number;
  /** How long a delivery waits for its ack before it is written again. Default 5 s (upstream). */
  readonly resendMs?: number;
  /** Queue items are written while a socket buffers less than this. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** A peer leaving more than this unread is cut off. Default 4 x maxMessageBytes. */
  readonly maxBufferedBytes?: number;
  /** Messages waiting for onMessage per session before reading pauses. Default 256. */
  readonly inboxLimit?: number;
  /** Frame bytes waiting for onMessage per session before reading pauses. Default 2 x maxMessageBytes. */
  readonly inboxBytes?: number;
  /** A node's object messages (pod status, queries) handled at once; node-level ones have their own lane. Default 4. */
  readonly handlerConcurrency?: number;
  /** Which lane a message takes; default {@link edgeMessageLane}. */
  readonly laneOf?: (message: Message) => Lane;
  /** How long close() waits for peers to answer the close frame. Default 2 s. */
  readonly closeGraceMs?: number;
  /** Time for a new connection's TLS handshake, and again for its upgrade request's headers. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export type ResolvedCloudHubOptions = Required<Omit<CloudHubOptions, "onConnect" | "onDisconnect">> & {
  readonly onConnect?: (node: string) => void;
  readonly onDisconnect?: (node: string) => void;
};

const MiB = 1024 * 1024;

export function resolveOptions(options: CloudHubOptions): ResolvedCloudHubOptions {
  const maxMessageBytes = options.maxMessageBytes ?? 8 * MiB;
  const resolved: ResolvedCloudHubOptions = {
    ...options,
    maxMessageBytes,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 30_000,
    nodeLimit: options.nodeLimit ?? 500,
    queueLimit: options.queueLimit ?? 10_000,
    resendMs: options.resendMs ?? 5_000,
    highWaterBytes: options.highWaterBytes ?? MiB,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * maxMessageBytes,
    inboxLimit: options.inboxLimit ?? 256,
    inboxBytes: options.inboxBytes ?? 2 * maxMessageBytes,
    handlerConcurrency: options.handlerConcurrency ?? 4,
    laneOf: options.laneOf ?? edgeMessageLane,
    closeGraceMs: options.closeGraceMs ?? 2_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS,
  };
  for (
    const key of [
      "maxMessageBytes",
      "keepaliveTimeoutMs",
      "nodeLimit",
      "queueLimit",
      "resendMs",
      "highWaterBytes",
      "maxBufferedBytes",
      "inboxLimit",
      "inboxBytes",
      "handlerConcurrency",
      "handshakeTimeoutMs",
    ] as const
  ) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Cannot start cloudhub: ${key} must be a positive integer, got ${value}`);
    }
  }
  // It is also node:http's headersTimeout, which may not exceed its requestTimeout (300 s).
  if (resolved.handshakeTimeoutMs > 300_000) {
    throw new RangeError(
      `Cannot start cloudhub: handshakeTimeoutMs must be at most 300000, got ${resolved.handshakeTimeoutMs}`,
    );
  }
  if (!Number.isSafeInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new RangeError(`Cannot start cloudhub: port must be 0-65535, got ${resolved.port}`);
  }
  return resolved;
}
