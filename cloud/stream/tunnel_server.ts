/**
 * The cloud end of the stream tunnel (KubeEdge's :10004): WebSocket over TLS at /v1/kubeedge/connect, client
 * certificate required and verified against the KubeEdge CA; the node is the certificate's (a
 * `SessionHostNameOverride` header naming another node is refused). One tunnel per node: a new one replaces
 * the old. The stream server opens streams on it.
 *
 * Two wire forms, chosen per connection: an edge that sends `x-kedge-tunnel: mux/1` (kedge's edgecore) gets it
 * echoed in the 101 and speaks kedge's multiplexer (lib/tunnel/mux.ts); one that sends KubeEdge's
 * `SessionHostNameOverride` without it (KubeEdge's edgestream) speaks KubeEdge's framing
 * (lib/tunnel/kubeedge_frame.ts, cloud/stream/kubeedge_tunnel.ts); one with neither (a kedge edgecore from
 * before the negotiation) the multiplexer.
 */
import type { IncomingMessage } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { type WebSocket, WebSocketServer } from "ws";
import { createLogger, type Logger } from "../../lib/log.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpsServerTimeouts } from "../../lib/server_timeouts.ts";
import { type MuxOptions, TunnelMux } from "../../lib/tunnel/mux.ts";
import { KEDGE_TUNNEL_HEADER, KEDGE_TUNNEL_MUX } from "../../lib/tunnel/negotiate.ts";
import { SESSION_HOST_HEADER } from "../../lib/tunnel/kubeedge_frame.ts";
import { KubeEdgeTunnel } from "./kubeedge_tunnel.ts";
import { nodeOfCertificate } from "./node_identity.ts";

/** A node's tunnel: kedge's multiplexer, or KubeEdge's framing. */
export type Tunnel = { readonly kind: "mux"; readonly mux: TunnelMux } | {
  readonly kind: "kubeedge";
  readonly kubeedge: KubeEdgeTunnel;
};

export interface TunnelServerOptions {
  /** Default 0.0.0.0. */
  readonly address?: string;
  /** cloudStream.tunnelPort, default 10004; 0 picks a free port. */
  readonly port?: number;
  /** caPem: the KubeEdge CA (verifies edge certificates); certPem/keyPem: cloudcore's serving certificate. */
  readonly tls: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
  readonly log?: Logger;
  readonly onConnect?: (node: string) => void;
  readonly onDisconnect?: (node: string) => void;
  /** Most tunnels at once (cloudHub.nodeLimit). Default 500. */
  readonly nodeLimit?: number;
  /** Seconds between pings; a tunnel is dropped after two unanswered. Default 15. */
  readonly pingSeconds?: number;
  readonly mux?: Omit<MuxOptions, "onOpen">;
  /** Time for a new connection's TLS handshake, and again for its upgrade request's headers. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export interface TunnelServer {
  readonly port: number;
  /** The node's tunnel on this replica, if it has one. */
  tunnel(node: string): Tunnel | undefined;
  nodes(): string[];
  /** Serves a renewed certificate to new connections (open tunnels keep theirs). */
  updateServerCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

/** kedge's multiplexer, unless the edge is KubeEdge's (its session header and no x-kedge-tunnel). */
function speaksMux(req: IncomingMessage): boolean {
  if (req.headers[KEDGE_TUNNEL_HEADER] === KEDGE_TUNNEL_MUX) return true;
  return req.headers[SESSION_HOST_HEADER.toLowerCase()] === undefined;
}

export async function startTunnelServer(options: TunnelServerOptions): Promise<TunnelServer> {
  const log = (options.log ?? createLogger({ component: "cloudcore" })).child({ module: "tunnel-server" });
  const maxFrame = options.mux?.maxFrameBytes ?? 32 * 1024;
  const maxHead = options.mux?.maxHeadBytes ?? 64 * 1024;
  const nodeLimit = options.nodeLimit ?? 500;
  const pingMs = (options.pingSeconds ?? 15) * 1000;
  const tunnels = new Map<string, { ws: WebSocket; tunnel: Tunnel }>();
  const sockets = new Set<Duplex>();
  const server = https.createServer({
    ca: options.tls.caPem,
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    ...httpsServerTimeouts(options.handshakeTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS),
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.max(maxFrame, maxHead) + 64,
    perMessageDeflate: false,
    // KubeEdge's framing sends raw bytes in text frames.
    skipUTF8Validation: true,
  });
  // kedge's edge asks for the multiplexer; the answer tells it this cloud is kedge's.
  wss.on("headers", (headers: string[], req: IncomingMessage) => {
    if (req.headers[KEDGE_TUNNEL_HEADER] === KEDGE_TUNNEL_MUX) {
      headers.push(`${KEDGE_TUNNEL_HEADER}: ${KEDGE_TUNNEL_MUX}`);
    }
  });
  server.on("connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on(
    "tlsClientError",
    (error: Error) => log.info("tunnel tls handshake refused", { error: error.message }),
  );
  server.on("request", (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", connection: "close" });
    res.end("Cannot serve: this endpoint speaks WebSocket only\n");
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const tls = req.socket as TLSSocket;
    const refuse = (status: number, message: string) => {
      socket.end(
        `HTTP/1.1 ${status} Refused\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${
          Buffer.byteLength(message)
        }\r\n\r\n${message}`,
      );
    };
    const identity = nodeOfCertificate(tls.authorized ? tls.getPeerCertificate()?.raw : undefined);
    if ("error" in identity) {
      log.warn("tunnel refused", { reason: identity.error, remote: tls.remoteAddress });
      return refuse(403, `Cannot accept tunnel: ${identity.error}`);
    }
    if ((req.url ?? "").split("?")[0] !== "/v1/kubeedge/connect") {
      return refuse(404, "Cannot accept tunnel: path must be /v1/kubeedge/connect");
    }
    const node = identity.node;
    const claimed = req.headers[SESSION_HOST_HEADER.toLowerCase()];
    if (typeof claimed === "string" && claimed !== "" && claimed !== node) {
      log.warn("tunnel refused", {
        reason: "header names another node",
        node,
        claimed: claimed.slice(0, 253),
      });
      return refuse(403, `Cannot accept tunnel: the certificate is node ${node}'s`);
    }
    if (!tunnels.has(node) && tunnels.size >= nodeLimit) {
      return refuse(503, "Cannot accept tunnel: node limit reached");
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const previous = tunnels.get(node);
      const tunnel: Tunnel = speaksMux(req) ? { kind: "mux", mux: new TunnelMux(ws, options.mux) } : {
        kind: "kubeedge",
        kubeedge: new KubeEdgeTunnel(ws, {
          maxConnections: options.mux?.maxStreams,
          maxFrameBytes: options.mux?.maxFrameBytes,
        }),
      };
      tunnels.set(node, { ws, tunnel });
      previous?.ws.close(4000, "replaced by a newer tunnel");
      log.info("tunnel connected", { node, protocol: tunnel.kind });
      options.onConnect?.(node);
      let missed = 0;
      const pinger = setInterval(() => {
        if (++missed > 2) return void ws.terminate();
        ws.ping();
      }, pingMs);
      ws.on("pong", () => missed = 0);
      ws.on("error", () => ws.terminate());
      ws.on("close", () => {
        clearInterval(pinger);
        if (tunnels.get(node)?.ws !== ws) return;
        tunnels.delete(node);
        log.info("tunnel disconnected", { node });
        options.onDisconnect?.(node);
      });
    });
  });
  const address = options.address ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 10004, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info("tunnel server listening", { address, port });
  return {
    port,
    tunnel: (node) => tunnels.get(node)?.tunnel,
    nodes: () => [...tunnels.keys()],
    updateServerCertificate(certPem, keyPem) {
      server.setSecureContext({ ca: options.tls.caPem, cert: certPem, key: keyPem });
      log.info("server certificate updated");
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { ws } of tunnels.values()) ws.close(1001, "cloudcore stopping");
        server.close(() => resolve());
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 500);
      }),
  };
}
