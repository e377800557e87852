/** EdgeHub's options and their defaults (KubeEdge's where it has one). */
import type { Logger } from "../../lib/log.ts";
import type { Message } from "../../lib/protocol/mod.ts";

/** PEM texts for one connection attempt. */
export interface EdgeHubCredentials {
  /** The KubeEdge CA, which must have signed cloudcore's server certificate. */
  readonly caPem: string;
  /** This node's client certificate (CN=system:node:<name>, clientAuth). */
  readonly certPem: string;
  readonly keyPem: string;
}

export interface EdgeHubOptions {
  /** cloudcore's WebSocket endpoint, HOST:PORT (edgeHub.websocket.server). */
  readonly server: string;
  readonly projectID: string;
  readonly nodeName: string;
  /** Read before every dial, so a rotated certificate is used from the next connection on. */
  readonly credentials: () => Promise<EdgeHubCredentials>;
  readonly log: Logger;
  /**
   * Handles a message from the cloud. Deliveries (insert, update, patch, delete) are acked only after it
   * resolves; when it rejects, no ack goes out and the cloud sends the message again.
   */
  readonly onMessage: (message: Message) => Promise<void>;
  readonly onConnect?: () => void;
  /** The connection dropped; `reason` says why. */
  readonly onDisconnect?: (reason: string) => void;
  /** Aborting it closes the hub. */
  readonly signal?: AbortSignal;
  /** Time between keepalives. Default 15 s. */
  readonly heartbeatMs?: number;
  /** Largest frame either way, in bytes. Default 8 MiB. */
  readonly maxMessageBytes?: number;
  /** Reconnect delays: full jitter, ceiling doubling from initialMs to capMs. Default 1 s to 30 s. */
  readonly backoff?: { readonly initialMs: number; readonly capMs: number };
  /** Messages held while disconnected (or while the socket is backed up). Default 1,000. */
  readonly outboxLimit?: number;
  /** Messages waiting for onMessage before reading pauses. Default 256. */
  readonly inboxLimit?: number;
  /** Outbox frames are written while the socket buffers less than this. Default 1 MiB. */
  readonly highWaterBytes?: number;
  /** How long a dial may take, TLS and upgrade included. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
  /** [0, 1) for the backoff jitter; tests pass a fixed one. */
  readonly random?: () => number;
}

export interface ResolvedEdgeHubOptions extends EdgeHubOptions {
  readonly heartbeatMs: number;
  readonly maxMessageBytes: number;
  readonly backoff: { readonly initialMs: number; readonly capMs: number };
  readonly outboxLimit: number;
  readonly inboxLimit: number;
  readonly highWaterBytes: number;
  readonly handshakeTimeoutMs: number;
}

const MiB = 1024 * 1024;

export function resolveOptions(options: EdgeHubOptions): ResolvedEdgeHubOptions {
  const resolved: ResolvedEdgeHubOptions = {
    ...options,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    maxMessageBytes: options.maxMessageBytes ?? 8 * MiB,
    backoff: options.backoff ?? { initialMs: 1_000, capMs: 30_000 },
    outboxLimit: options.outboxLimit ?? 1_000,
    inboxLimit: options.inboxLimit ?? 256,
    highWaterBytes: options.highWaterBytes ?? MiB,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
  };
  for (
    const key of [
      "heartbeatMs",
      "maxMessageBytes",
      "outboxLimit",
      "inboxLimit",
      "highWaterBytes",
      "handshakeTimeoutMs",
    ] as const
  ) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Cannot start edgehub: ${key} must be a positive integer, got ${value}`);
    }
  }
  if (!/^\S+:\d{1,5}$/.test(resolved.server)) {
    throw new RangeError(
      `Cannot start edgehub: server must be HOST:PORT, got ${JSON.stringify(resolved.server)}`,
    );
  }
  return resolved;
}
