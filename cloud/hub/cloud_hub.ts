/**
 * CloudHub: the cloud end of the edge channel, WebSocket over TLS with a required client certificate
 * (KubeEdge's :10000). One session per node, identity from the certificate, one bounded send queue per node
 * that outlives its sessions.
 */
import { type IncomingMessage, STATUS_CODES } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { type WebSocket, WebSocketServer } from "ws";
import { encode, type Message, PendingRequests } from "../../lib/protocol/mod.ts";
import { httpsServerTimeouts } from "../../lib/server_timeouts.ts";
import { hubMetrics } from "./hub_metrics.ts";
import { claimedNodes, nodeFromCertificate } from "./identity.ts";
import { type CloudHubOptions, type ResolvedCloudHubOptions, resolveOptions } from "./options.ts";

import { type EnqueueOutcome, QueueFullError, SendQueue } from "./send_queue.ts";
import { CLOSE_REPLACED, Session } from "./session.ts";

/** {@link CloudHub.post} refused: the node's socket holds more than highWaterBytes not yet sent. */
export class NodeBusyError extends RangeError {
  override readonly name = "NodeBusyError";
}

/** One object delivery for {@link CloudHub.send}. */
export interface DeliveryItem {
  readonly message: Message;
  /** The object's metadata.uid: the queue holds one item per UID. */
  readonly uid: string;
  /** The object's resourceVersion; the newest wins. Defaults to the message header's. */
  readonly resourceVersion?: string;
  readonly isDelete?: boolean;
}

export interface QueueStats {
  /** Items held, acked or not. */
  readonly queued: number;
  /** Written, waiting for the ack. */
  readonly unacked: number;
  /** Not yet written (new, or due again). */
  readonly unsent: number;
}

export interface CloudHub {
  /** The port listened on (useful with port 0). */
  readonly port: number;
  /** Queues an object delivery for `node`, connected or not. Throws QueueFullError when its queue is full. */
  send(node: string, item: DeliveryItem): EnqueueOutcome;
  /** Sends `message` to a connected node and resolves with the reply naming it in parent_msg_id. */
  request(node: string, message: Message, timeoutMs: number): Promise<Message>;
  /**
   * Writes `message` to a connected node now, not queued, no reply awaited; throws when it is not connected,
   * and NodeBusyError while its socket holds more than highWaterBytes unsent (so a flood of such messages is
   * refused instead of ending the session as a peer that is not reading).
   */
  post(node: string, message: Message): void;
  isConnected(node: string): boolean;
  connectedNodes(): string[];
  queueStats(node: string): QueueStats;
  /** Closes the node's session (1000); its queue stays. */
  disconnect(node: string): void;
  /** Forgets a node's queue, e.g. when its Node object is deleted. */
  forgetNode(node: string): void;
  /** Uses a new server certificate for new connections. */
  updateServerCertificate(certPem: string, keyPem: string): void;
  /** Closes every session with 1001 and stops listening. */
  close(): Promise<void>;
}

export async function startCloudHub(options: CloudHubOptions): Promise<CloudHub> {
  const o = resolveOptions(options);
  const log = o.log.child({ module: "cloudhub" });
  const metrics = hubMetrics(o.registry);
  const sessions = new Map<string, Session>();
  const queues = new Map<string, SendQueue>();
  const pending = new PendingRequests();
  const sockets = new Set<Duplex>();
  let closing = false;

  const queueOf = (node: string): SendQueue => {
    let queue = queues.get(node);
    if (!queue) {
      queue = new SendQueue({ limit: o.queueLimit, resendMs: o.resendMs });
      queues.set(node, queue);
    }
    return queue;
  };
  const removeSource = metrics.addQueueSource(() => {
    let queued = 0;
    let unacked = 0;
    for (const q of queues.values()) {
      queued += q.size;
      unacked += q.unacked;
    }
    return { queued, unacked };
  });

  const server = https.createServer({
    ca: o.tls.caPem,
    cert: o.tls.certPem,
    key: o.tls.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    ...httpsServerTimeouts(o.handshakeTimeoutMs),
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.maxMessageBytes,
    perMessageDeflate: false,
  });

  server.on("connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", (err: Error) => {
    metrics.connectionsRefused.inc({ reason: "tls" });
    log.info("tls handshake refused", { error: err.message });
  });
  server.on("request", (_req: IncomingMessage, res) => {
    res.writeHead(426, { "content-type": "text/plain", connection: "close" });
    res.end("This endpoint speaks WebSocket only\n");
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {/* reset by the peer; nothing to do */});
    const tls = req.socket as TLSSocket;
    const peer = tls.authorized ? tls.getPeerCertificate() : undefined;
    const identity = nodeFromCertificate(peer?.raw);
    if (!identity.ok) {
      metrics.connectionsRefused.inc({ reason: "identity" });
      log.warn("connection refused", { reason: identity.error, remote: tls.remoteAddress });
      return refuse(socket, 403, `Cannot accept connection: ${identity.error}`);
    }
    const node = identity.value;
    const claims = claimedNodes(req.url, req.headers);
    const mismatch = claims.find((claim) => claim !== node);
    if (mismatch !== undefined) {
      metrics.connectionsRefused.inc({ reason: "node_mismatch" });
      log.warn("connection refused", {
        reason: "claimed node differs from certificate",
        node,
        claimed: mismatch.slice(0, 256),
        remote: tls.remoteAddress,
      });
      return refuse(socket, 403, `Cannot accept connection: the certificate belongs to node ${node}`);
    }
    if (closing) return refuse(socket, 503, "Cannot accept connection: cloudhub is shutting down");
    if (!sessions.has(node) && sessions.size >= o.nodeLimit) {
      metrics.connectionsRefused.inc({ reason: "node_limit" });
      log.warn("connection refused", { reason: "node limit reached", node, limit: o.nodeLimit });
      return refuse(socket, 503, `Cannot accept connection: ${o.nodeLimit} nodes are connected, the limit`);
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(node, ws));
  });

  function attach(node: string, ws: WebSocket): void {
    if (closing) {
      ws.close(1001, "cloudhub shutting down");
      return;
    }
    const previous = sessions.get(node);
    const session = new Session({
      node,
      ws,
      queue: queueOf(node),
      pending,
      log,
      metrics,
      maxMessageBytes: o.maxMessageBytes,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs,
      highWaterBytes: o.highWaterBytes,
      maxBufferedBytes: o.maxBufferedBytes,
      inboxLimit: o.inboxLimit,
      inboxBytes: o.inboxBytes,
      handlerConcurrency: o.handlerConcurrency,
      laneOf: o.laneOf,
      onMessage: o.onMessage,
      onClosed: detach,
    });
    sessions.set(node, session);
    metrics.connectedNodes.set(sessions.size);
    if (previous) {
      log.info("session replaced", { node });
      previous.close(CLOSE_REPLACED, "replaced by a new session");
    }
    session.start();
    log.info("node connected", { node });
    callback(o.onConnect, node);
  }

  function detach(session: Session, code: number, reason: string): void {
    if (sessions.get(session.node) !== session) return;
    sessions.delete(session.node);
    metrics.connectedNodes.set(sessions.size);
    pending.rejectAll(new Error(`Cannot complete request: node ${session.node} disconnected`), session.node);
    log.info("node disconnected", { node: session.node, code, reason });
    callback(o.onDisconnect, session.node);
  }

  function callback(fn: ((node: string) => void) | undefined, node: string): void {
    try {
      fn?.(node);
    } catch (err) {
      log.error("connection callback failed", { node, error: err });
    }
  }

  await listen(server, o);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : o.port;
  log.info("cloudhub listening", { address: o.address, port });

  return {
    port,
    send(node, item) {
      const { message, uid } = item;
      const frame = encode(message, { maxBytes: o.maxMessageBytes });
      try {
        const outcome = queueOf(node).enqueue({
          uid,
          msgId: message.header.msg_id,
          resourceVersion: item.resourceVersion ?? message.header.resourceversion,
          isDelete: item.isDelete,
          operation: message.route.operation,
          frame,
        });
        if (outcome !== "ignored") sessions.get(node)?.flush();
        else {log.debug("delivery ignored: older than what the node holds", {
            node,
            uid,
            operation: message.route.operation,
          });}
        return outcome;
      } catch (err) {
        if (err instanceof QueueFullError) {
          metrics.sendsRefused.inc({ reason: "queue_full" });
          log.warn("delivery refused", { node, uid, reason: "queue full", limit: err.limit });
        }
        throw err;
      }
    },
    request(node, message, timeoutMs) {
      const session = sessions.get(node);
      if (!session || session.closed) {
        return Promise.reject(new Error(`Cannot send request to node ${node}: it is not connected`));
      }
      const msgId = message.header.msg_id;
      const reply = pending.wait(msgId, timeoutMs, node);
      try {
        session.sendDirect(message);
      } catch (err) {
        pending.reject(msgId, err instanceof Error ? err : new Error(String(err)));
      }
      return reply;
    },
    post(node, message) {
      const session = sessions.get(node);
      if (!session || session.closed) throw new Error(`Cannot send to node ${node}: it is not connected`);
      if (session.bufferedBytes > o.highWaterBytes) {
        metrics.sendsRefused.inc({ reason: "busy" });
        throw new NodeBusyError(`Cannot send to node ${node}: it has not read what it was sent yet`);
      }
      session.sendDirect(message);
    },
    isConnected: (node) => sessions.get(node)?.closed === false,
    connectedNodes: () => [...sessions.keys()],
    queueStats(node) {
      const q = queues.get(node);
      return { queued: q?.size ?? 0, unacked: q?.unacked ?? 0, unsent: q?.unsent ?? 0 };
    },
    disconnect(node) {
      sessions.get(node)?.close(1000, "disconnected by cloudhub");
    },
    forgetNode(node) {
      queues.delete(node);
    },
    updateServerCertificate(certPem, keyPem) {
      server.setSecureContext({ ca: o.tls.caPem, cert: certPem, key: keyPem });
      log.info("server certificate updated");
    },
    async close() {
      if (closing) return;
      closing = true;
      const open = [...sessions.values()];
      const closed = Promise.all(open.map((s) => s.done));
      for (const s of open) s.close(1001, "cloudhub shutting down");
      const grace = timeout(o.closeGraceMs);
      await Promise.race([closed, grace.promise]);
      grace.cancel();
      for (const s of open) s.terminate();
      await Promise.all(open.map((s) => s.done));
      pending.rejectAll(new Error("Cannot complete request: cloudhub closed"));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
      wss.close();
      removeSource();
      metrics.connectedNodes.set(0);
      log.info("cloudhub stopped");
    },
  };
}

function listen(server: https.Server, o: ResolvedCloudHubOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`Cannot listen on ${o.address}:${o.port}: ${err.message}`));
    server.once("error", onError);
    server.listen(o.port, o.address, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Answers an upgrade request with a plain HTTP error and closes the connection. */
function refuse(socket: Duplex, status: number, body: string): void {
  const text = `${body}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nconnection: close\r\ncontent-type: text/plain\r\n` +
      `content-length: ${new TextEncoder().encode(text).byteLength}\r\n\r\n${text}`,
  );
}

function timeout(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return { promise, cancel: () => clearTimeout(timer) };
}
