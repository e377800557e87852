/**
 * cloudcore's stream server: what kube-apiserver reaches when it calls a node's kubelet endpoint
 * (status.daemonEndpoints) for logs, exec, attach and stats. HTTPS with a serving certificate the apiserver
 * trusts (--kubelet-certificate-authority) and the apiserver's kubelet-client certificate required.
 *
 * The node is told by the port: kubelet paths do not name it, and we use no iptables, so every node gets
 * its own port (see coordinator.ts) and the Node advertises this replica's address with that port. A request
 * goes over the node's tunnel when this replica holds it, else to the replica that does (forward.ts).
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import tls, { type TLSSocket } from "node:tls";
import { createLogger, type Logger } from "../../lib/log.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpsServerTimeouts } from "../../lib/server_timeouts.ts";
import { carryRequest, carryUpgrade } from "./carry.ts";
import { forwardRequest, forwardUpgrade, NODE_HEADER, type PeerTls } from "./forward.ts";
import type { Tunnel } from "./tunnel_server.ts";
import { commonNameOf } from "./node_identity.ts";
import { writeRawError } from "./raw_http.ts";
import { type Authorization, callerOf, type KubeletAuthorizer, subresourceOf } from "./kubelet_authz.ts";

export interface StreamServerOptions {
  /** Where node ports listen. Default 0.0.0.0. */
  readonly address?: string;
  /** certPem/keyPem: the serving certificate; clientCaPem: the CA of kube-apiserver's kubelet-client cert. */
  readonly tls: { readonly certPem: string; readonly keyPem: string; readonly clientCaPem: string };
  /** This replica's tunnels. */
  readonly tunnels: { tunnel(node: string): Tunnel | undefined };
  /** The forward address (HOST:PORT) of the replica holding the node's tunnel, if another one does. */
  readonly holderOf?: (node: string) => Promise<string | undefined>;
  /** With several replicas: this replica's forward listener and its client identity towards the others. */
  readonly peer?: PeerTls & { readonly address: string; readonly port: number };
  readonly log?: Logger;
  /** How long a plain request waits for the edge's reply head. Default 30 s. */
  readonly headTimeoutMs?: number;
  /** Largest request head, in bytes. Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** Decides every request on a node port; without it (tests of the tunnel alone) all are allowed. */
  readonly authorizer?: KubeletAuthorizer;
  /** Called with each refused request's subresource (a metric). */
  readonly onDenied?: (subresource: string) => void;
  /** Time for a new connection's TLS handshake, and again for its request headers. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export interface StreamServer {
  /** Serves `node` on `port` (0: a free one); resolves with the port. */
  listen(node: string, port: number): Promise<number>;
  unlisten(node: string): Promise<void>;
  /** node -> port served here. */
  ports(): Map<string, number>;
  /** The forward listener's port, when `peer` is set. */
  readonly peerPort: number | undefined;
  /** Serves a new certificate on every node port (open connections keep theirs); later ports take it too. */
  updateNodeCertificate(tls: StreamServerOptions["tls"]): void;
  /** Serves and presents a new replica certificate on the forward listener and on forwarded requests. */
  updatePeerCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

/** Paths of the kubelet API the apiserver calls; anything else is refused before it reaches a tunnel. */
const KUBELET_PATH =
  /^\/(containerLogs|exec|attach|portForward|stats|metrics|pods|healthz|logs|runningpods)(\/|$|\?)/;

export async function startStreamServer(options: StreamServerOptions): Promise<StreamServer> {
  const log = (options.log ?? createLogger({ component: "cloudcore" })).child({ module: "stream-server" });
  const address = options.address ?? "0.0.0.0";
  const headTimeoutMs = options.headTimeoutMs ?? 30_000;
  const timeouts = httpsServerTimeouts(options.handshakeTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS);
  const listeners = new Map<string, { server: https.Server; port: number; sockets: Set<Duplex> }>();
  const peerName = options.peer?.commonName ?? "kedge-cloudcore";
  // Replaced on renewal, so read through this variable, never from options.
  let peerTls = options.peer;

  /** Where a request for `node` goes: this replica's tunnel, another replica, or nowhere (a message). */
  const route = async (node: string, mayForward: boolean) => {
    const tunnel = options.tunnels.tunnel(node);
    if (tunnel) return { tunnel };
    if (mayForward && peerTls && options.holderOf) {
      const holder = await options.holderOf(node);
      const self = `${peerTls.address}:${peerTls.port}`;
      if (holder && holder !== self) return { peer: holder };
    }
    return { error: `Cannot reach node ${node}: it has no stream tunnel to cloudcore` };
  };

  const onRequest =
    (node: string | undefined, mayForward: boolean) => (req: IncomingMessage, res: ServerResponse) => {
      (async () => {
        if (!node) return send(res, 400, "Cannot serve: no node named");
        if (!KUBELET_PATH.test(req.url ?? "")) {
          return send(res, 404, `Cannot serve ${req.url}: not part of the kubelet API`);
        }
        const target = await route(node, mayForward);
        if ("error" in target) return send(res, 503, target.error ?? "");
        if ("peer" in target && peerTls) {
          return forwardRequest(target.peer ?? "", node, peerTls, req, res);
        }
        if ("tunnel" in target && target.tunnel) {
          if (target.tunnel.kind === "kubeedge") return target.tunnel.kubeedge.carryRequest(req, res);
          await carryRequest(target.tunnel.mux, req, res, headTimeoutMs);
        }
      })().catch((error) => {
        log.info("stream request failed", { node, path: req.url, error: (error as Error).message });
        if (!res.headersSent) send(res, 502, `Cannot reach node ${node}: ${(error as Error).message}`);
        else res.destroy();
      });
    };

  const onUpgrade = (node: string | undefined, mayForward: boolean) =>
  (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ) => {
    socket.on("error", () => socket.destroy());
    (async () => {
      if (!node) return writeRawError(socket, 400, "Cannot serve: no node named");
      if (!KUBELET_PATH.test(req.url ?? "")) {
        return writeRawError(socket, 404, `Cannot serve ${req.url}: not part of the kubelet API`);
      }
      const target = await route(node, mayForward);
      if ("error" in target) return writeRawError(socket, 503, target.error ?? "");
      if ("peer" in target && peerTls) {
        return forwardUpgrade(target.peer ?? "", node, peerTls, req, socket, head);
      }
      if ("tunnel" in target && target.tunnel) {
        if (target.tunnel.kind === "kubeedge") target.tunnel.kubeedge.carryUpgrade(req, socket, head);
        else carryUpgrade(target.tunnel.mux, req, socket, head);
      }
    })().catch((error) =>
      writeRawError(socket, 502, `Cannot reach node ${node}: ${(error as Error).message}`)
    );
  };

  type Refusal = { status: number; message: string } | undefined;
  const serve = async (
    bind: string,
    port: number,
    tlsOptions: https.ServerOptions,
    handlers: { request: ReturnType<typeof onRequest>; upgrade: ReturnType<typeof onUpgrade> },
    check: (req: IncomingMessage) => Promise<Refusal>,
  ) => {
    const server = https.createServer({
      ...tlsOptions,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
      ...timeouts,
    });
    const sockets = new Set<Duplex>();
    server.on("connection", (socket: Duplex) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    server.on(
      "tlsClientError",
      (error: Error) => log.debug("stream tls handshake refused", { error: error.message }),
    );
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      check(req).then((refused) => {
        if (refused) return send(res, refused.status, refused.message);
        handlers.request(req, res);
      }, () => send(res, 500, "Cannot authorize the request"));
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Until the decision, the socket's bytes wait in its buffer: nothing reads it yet.
      check(req).then((refused) => {
        if (refused) return writeRawError(socket, refused.status, refused.message);
        handlers.upgrade(req, socket, head);
      }, () => writeRawError(socket, 500, "Cannot authorize the request"));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, bind, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return { server, port: (server.address() as AddressInfo).port, sockets };
  };

  /** A node port's check: the caller's rights on that node, as its kubelet would decide them. */
  const authorizeFor = (node: string) => async (req: IncomingMessage): Promise<Refusal> => {
    if (!options.authorizer) return undefined;
    const caller = callerOf((req.socket as TLSSocket).getPeerCertificate()?.raw);
    const decision: Authorization = await options.authorizer.authorize(
      caller,
      req.method,
      req.url ?? "",
      node,
    );
    if (decision.allowed) return undefined;
    const path = (req.url ?? "").split("?")[0]?.slice(0, 200);
    log.warn("stream request denied", {
      node,
      path,
      method: req.method,
      user: caller?.user,
      why: decision.message,
    });
    options.onDenied?.(subresourceOf(req.url ?? ""));
    return { status: decision.status, message: decision.message };
  };

  let nodeTls = { cert: options.tls.certPem, key: options.tls.keyPem, ca: options.tls.clientCaPem };
  let peerListener: Awaited<ReturnType<typeof serve>> | undefined;
  if (options.peer) {
    const peer = options.peer;
    // The node comes from the header, trusted only from a replica's certificate.
    const nodeOf = (req: IncomingMessage) => {
      const value = req.headers[NODE_HEADER];
      return typeof value === "string" ? value : undefined;
    };
    peerListener = await serve(peer.address, peer.port, {
      cert: peer.certPem,
      key: peer.keyPem,
      ca: peer.caPem,
    }, {
      request: (req, res) => onRequest(nodeOf(req), false)(req, res),
      upgrade: (req, socket, head) => onUpgrade(nodeOf(req), false)(req, socket, head),
    }, (req) => {
      // Forwarded requests were authorized by the replica the apiserver called.
      const cn = commonNameOf((req.socket as TLSSocket).getPeerCertificate()?.raw);
      return Promise.resolve(
        cn === peerName
          ? undefined
          : { status: 403, message: "Cannot forward: the client is not a cloudcore replica" },
      );
    });
    log.info("stream forward listener up", { address: peer.address, port: peerListener.port });
  }

  const closeListener = (l: { server: https.Server; sockets: Set<Duplex> }) =>
    new Promise<void>((resolve) => {
      l.server.close(() => resolve());
      for (const socket of l.sockets) socket.destroy();
    });

  return {
    async listen(node, port) {
      const existing = listeners.get(node);
      if (existing && (port === 0 || existing.port === port)) return existing.port;
      if (existing) await closeListener(existing);
      const listener = await serve(address, port, nodeTls, {
        request: onRequest(node, true),
        upgrade: onUpgrade(node, true),
      }, authorizeFor(node));
      listeners.set(node, listener);
      log.info("stream port serving node", { node, port: listener.port });
      return listener.port;
    },
    async unlisten(node) {
      const listener = listeners.get(node);
      if (!listener) return;
      listeners.delete(node);
      await closeListener(listener);
    },
    ports: () => new Map([...listeners].map(([node, l]) => [node, l.port])),
    peerPort: peerListener?.port,
    updateNodeCertificate(next) {
      const candidate = { cert: next.certPem, key: next.keyPem, ca: next.clientCaPem };
      // Throws on a key that does not match its certificate (a file pair caught half rewritten): the
      // ports keep what they serve and the next check tries again.
      tls.createSecureContext(candidate);
      nodeTls = candidate;
      for (const listener of listeners.values()) listener.server.setSecureContext(nodeTls);
    },
    updatePeerCertificate(certPem, keyPem) {
      if (!peerTls) return;
      const context = { cert: certPem, key: keyPem, ca: peerTls.caPem };
      tls.createSecureContext(context);
      peerTls = { ...peerTls, certPem, keyPem };
      peerListener?.server.setSecureContext(context);
    },
    async close() {
      const all = [...listeners.values(), ...(peerListener ? [peerListener] : [])];
      listeners.clear();
      await Promise.all(all.map(closeListener));
    },
  };
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
