/**
 * The edge end of the stream tunnel: edgecore dials cloudcore's tunnel port (wss://HOST:10004/v1/kubeedge/
 * connect) with its node client certificate and keeps the connection up, reconnecting with backoff. Each
 * stream the cloud opens is a request for the kubelet-style server on this box; nothing listens here for
 * the cloud.
 *
 * The upgrade request carries what KubeEdge's edgestream sends (`SessionHostNameOverride: <node>`,
 * `SessionInternalIP: <address>`) and `x-kedge-tunnel: mux/1`. kedge's cloud echoes the latter and the
 * tunnel speaks kedge's multiplexer; KubeEdge's cloud does not, and the tunnel speaks KubeEdge's framing
 * (kubeedge_session.ts).
 */
import { WebSocket } from "ws";
import { createLogger, type Logger } from "../../lib/log.ts";
import { serveLocally } from "./local_request.ts";
import { serveKubeEdgeSession } from "./kubeedge_session.ts";
import { type MuxOptions, TunnelMux } from "../../lib/tunnel/mux.ts";
import { KEDGE_TUNNEL_HEADER, KEDGE_TUNNEL_MUX } from "../../lib/tunnel/negotiate.ts";
import { SESSION_HOST_HEADER, SESSION_IP_HEADER } from "../../lib/tunnel/kubeedge_frame.ts";

export interface TunnelTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface StreamTunnelOptions {
  /** cloudcore's tunnel endpoint, HOST:PORT (edgeStream.tunnelServer, port 10004). */
  readonly server: string;
  /** The node's client certificate; a function is called at each connect (picks up rotated certificates). */
  readonly tls: TunnelTls | (() => TunnelTls | Promise<TunnelTls>);
  /** The kubelet-style server to carry requests to. Default 127.0.0.1:10350. */
  readonly kubelet?: { host?: string; port?: number };
  readonly log?: Logger;
  /** Reconnect delay: doubles from min to max. Default 1 s to 30 s. */
  readonly backoff?: { minMs: number; maxMs: number };
  /** Seconds between pings; the tunnel is dropped after two unanswered. Default 15. */
  readonly pingSeconds?: number;
  readonly mux?: Omit<MuxOptions, "onOpen">;
  /** Sent as SessionHostNameOverride (KubeEdge's cloud keys its session by it; kedge's takes the certificate's). */
  readonly nodeName?: string;
  /** Sent as SessionInternalIP. */
  readonly nodeIP?: string;
}

/** Which cloud the tunnel reached: kedge's (multiplexer) or KubeEdge's (its framing). */
export type TunnelPeer = "kedge" | "kubeedge";

export interface StreamTunnel {
  readonly connected: boolean;
  /** The cloud of the current (or last) connection; undefined before the first. */
  readonly peer: TunnelPeer | undefined;
  /** Resolves when connected (for tests and readiness). */
  waitConnected(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const TUNNEL_PATH = "/v1/kubeedge/connect";
/** How long a dial may take, TLS and upgrade included. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export function startStreamTunnel(options: StreamTunnelOptions): StreamTunnel {
  const log = (options.log ?? createLogger({ component: "edgecore" })).child({ module: "stream-tunnel" });
  const target = { host: options.kubelet?.host ?? "127.0.0.1", port: options.kubelet?.port ?? 10350 };
  const backoff = options.backoff ?? { minMs: 1000, maxMs: 30_000 };
  const pingMs = (options.pingSeconds ?? 15) * 1000;
  const maxFrame = options.mux?.maxFrameBytes ?? 32 * 1024;
  const maxHead = options.mux?.maxHeadBytes ?? 64 * 1024;
  let ws: WebSocket | undefined;
  let connected = false;
  let peer: TunnelPeer | undefined;
  let stopped = false;
  let delay = backoff.minMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waiters = new Set<() => void>();

  const connect = async () => {
    if (stopped) return;
    let tls: TunnelTls;
    try {
      tls = typeof options.tls === "function" ? await options.tls() : options.tls;
    } catch (error) {
      log.warn("tunnel credentials unreadable", { error });
      return retry();
    }
    const socket = new WebSocket(`wss://${options.server}${TUNNEL_PATH}`, {
      ca: tls.caPem,
      cert: tls.certPem,
      key: tls.keyPem,
      maxPayload: Math.max(maxFrame, maxHead) + 64,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      headers: {
        [KEDGE_TUNNEL_HEADER]: KEDGE_TUNNEL_MUX,
        ...(options.nodeName ? { [SESSION_HOST_HEADER]: options.nodeName } : {}),
        ...(options.nodeIP ? { [SESSION_IP_HEADER]: options.nodeIP } : {}),
      },
    });
    ws = socket;
    // Our own handshake timer, not ws's handshakeTimeout (see edge/hub/edge_hub.ts: under Deno its request
    // timeout could fire after the request had failed and throw, ending the process).
    const handshake = setTimeout(() => {
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    }, HANDSHAKE_TIMEOUT_MS);
    let kedgeCloud = false;
    socket.on("upgrade", (res) => kedgeCloud = res.headers[KEDGE_TUNNEL_HEADER] === KEDGE_TUNNEL_MUX);
    let pinger: ReturnType<typeof setInterval> | undefined;
    let missed = 0;
    socket.on("open", () => {
      clearTimeout(handshake);
      connected = true;
      peer = kedgeCloud ? "kedge" : "kubeedge";
      delay = backoff.minMs;
      log.info("tunnel connected", { server: options.server, protocol: kedgeCloud ? "mux" : "kubeedge" });
      for (const waiter of waiters) waiter();
      waiters.clear();
      if (kedgeCloud) {
        new TunnelMux(socket, {
          ...options.mux,
          onOpen: (stream, head) => serveLocally(stream, head, target),
        });
      } else {
        serveKubeEdgeSession(socket, {
          target,
          log,
          maxConnections: options.mux?.maxStreams,
          maxFrameBytes: options.mux?.maxFrameBytes,
          highWaterBytes: options.mux?.highWaterBytes,
        });
      }
      pinger = setInterval(() => {
        if (++missed > 2) return void socket.terminate();
        socket.ping();
      }, pingMs);
    });
    socket.on("pong", () => missed = 0);
    socket.on(
      "error",
      (error) => log.info("tunnel connection failed", { server: options.server, error: error.message }),
    );
    socket.on("close", (code) => {
      clearTimeout(handshake);
      clearInterval(pinger);
      if (connected) log.info("tunnel disconnected", { code });
      connected = false;
      if (ws === socket) ws = undefined;
      retry();
    });
  };
  const retry = () => {
    if (stopped) return;
    timer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
    delay = Math.min(delay * 2, backoff.maxMs);
  };
  connect();

  return {
    get connected() {
      return connected;
    },
    get peer() {
      return peer;
    },
    waitConnected(timeoutMs) {
      if (connected) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(done);
          reject(new Error(`Cannot connect the stream tunnel: not connected after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        waiters.add(done);
      });
    },
    close() {
      stopped = true;
      clearTimeout(timer);
      const socket = ws;
      if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000);
        setTimeout(() => {
          socket.terminate();
          resolve();
        }, 2000);
      });
    },
  };
}
