/**
 * edgecore's kubelet-style server (upstream's 127.0.0.1:10350): /healthz, /pods, /containerLogs, /exec,
 * /attach and /portForward (upgrades handed to containerd's streaming server), /stats/summary and
 * /metrics/resource. Plain
 * HTTP on loopback: the cloud reaches it only through the edge's outbound tunnel (edge/stream).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type CriClient, CriError, GRPC_STATUS } from "../cri/mod.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpServerTimeouts } from "../../lib/server_timeouts.ts";
import { serveContainerLogs } from "./container_logs.ts";
import { HttpError, pathSegments, sendJson, sendText } from "./http_util.ts";
import type { LocalPods } from "./pod_lookup.ts";
import { writeRawError } from "./raw_http.ts";
import { collectSummary, NodeStatsReader, renderResourceMetrics } from "./stats_summary.ts";
import { serveStream } from "./stream_proxy.ts";
import { type PortForwardOptions, portForwards } from "./port_forward.ts";
import type { Registry } from "../../lib/metrics.ts";

export interface KubeletServerOptions {
  /** Default 127.0.0.1: nothing but the box (and the tunnel, which dials it locally) should reach it. */
  readonly address?: string;
  /** Default 10350; 0 picks a free port. */
  readonly port?: number;
  readonly nodeName: string;
  readonly cri: CriClient;
  readonly pods: LocalPods;
  readonly log?: Logger;
  /** /healthz answers 503 while this is false (e.g. the pod manager's CRI relist fails). */
  readonly healthy?: () => boolean;
  /** edgecore's state for /status (JSON: connected, cloud, node); 404 without it. `edgecore status` reads it. */
  readonly status?: () => Record<string, unknown>;
  /** edgecore's own Prometheus text for /metrics; 404 without it. */
  readonly metrics?: () => string;
  /** Largest request head, in bytes. Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** How often a followed log looks for new lines. Default 100 ms. */
  readonly followPollMs?: number;
  /** Time a connection gets to send its request headers. Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Where port-forward metrics go (kedge_edge_port_forward*). */
  readonly registry?: Registry;
  /** Port-forward limits (streams, frame sizes, ports, connections). */
  readonly portForward?: Omit<PortForwardOptions, "cri" | "pods" | "log" | "registry">;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const log = (options.log ?? createLogger({ component: "edgecore" })).child({ module: "kubelet-server" });
  const nodeStats = new NodeStatsReader();
  const deps = { cri: options.cri, pods: options.pods, followPollMs: options.followPollMs };
  const server = http.createServer({
    maxHeaderSize: options.maxHeaderBytes ?? 16 * 1024,
    ...httpServerTimeouts(options.headersTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS),
  });
  const sockets = new Set<Duplex>();
  const forwards = portForwards({
    ...options.portForward,
    cri: options.cri,
    pods: options.pods,
    log,
    registry: options.registry,
  });

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const segments = pathSegments(url.pathname);
    const [top, ...rest] = segments;
    if (top === "exec" || top === "attach" || top === "portForward") {
      throw new HttpError(400, `Cannot ${top}: the request must be an upgrade (SPDY or WebSocket)`);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new HttpError(405, `Cannot ${req.method} ${url.pathname}: only GET is served`);
    }
    const path = url.pathname.replace(/\/+$/, "");
    switch (path) {
      case "/healthz":
        return (options.healthy?.() ?? true)
          ? sendText(res, 200, "ok")
          : sendText(res, 503, "Cannot report healthy: container runtime not answering");
      case "/status":
        return options.status
          ? sendJson(res, 200, options.status())
          : sendText(res, 404, "Cannot report status: not enabled");
      case "/pods":
        return sendJson(res, 200, {
          kind: "PodList",
          apiVersion: "v1",
          metadata: {},
          items: options.pods.pods().map((pod) => ({
            ...pod,
            apiVersion: "v1",
            kind: "Pod",
            status: options.pods.status(pod.metadata.uid ?? "") ?? {},
          })),
        });
      case "/stats/summary":
        return sendJson(
          res,
          200,
          await collectSummary(options.cri, options.pods, options.nodeName, nodeStats),
        );
      case "/metrics/resource": {
        const text = renderResourceMetrics(
          await collectSummary(options.cri, options.pods, options.nodeName, nodeStats),
        );
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        return void res.end(text);
      }
      case "/metrics":
        if (options.metrics) {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
          return void res.end(options.metrics());
        }
        break;
    }
    if (top === "containerLogs") return await serveContainerLogs(deps, rest, url.searchParams, req, res);
    throw new HttpError(404, `Cannot serve ${url.pathname}: not part of the kubelet API`);
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (hasBody(req)) {
      // Nothing here reads a body, and one left unread holds the connection for as long as the client
      // trickles it: refuse it and close.
      res.setHeader("connection", "close");
      return sendText(res, 413, "Cannot read a request body: the kubelet API takes none");
    }
    route(req, res).catch((error) => {
      const { status, message } = describe(error);
      if (status >= 500) log.warn("kubelet request failed", { path: req.url, error });
      sendText(res, status, message);
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://kubelet");
    (async () => {
      const [top, ...rest] = pathSegments(url.pathname);
      if (top === "portForward") return await forwards.serve(rest, url.searchParams, req, socket, head);
      if (top !== "exec" && top !== "attach") {
        throw new HttpError(
          404,
          `Cannot upgrade ${url.pathname}: only /exec, /attach and /portForward stream`,
        );
      }
      await serveStream(deps, top, rest, url.searchParams, req, socket, head);
    })().catch((error) => {
      const { status, message } = describe(error);
      if (status >= 500) log.warn("kubelet stream failed", { path: url.pathname, error });
      writeRawError(socket, status, message);
    });
  });
  server.on("connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("clientError", (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      return writeRawError(socket, 408, "Cannot read request: the headers did not arrive in time");
    }
    writeRawError(socket, 400, "Cannot read request");
  });

  const address = options.address ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 10350, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info("kubelet server listening", { address, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        forwards.close();
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

function describe(error: unknown): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  if (error instanceof CriError) {
    return { status: error.code === GRPC_STATUS.NOT_FOUND ? 404 : 502, message: error.message };
  }
  return { status: 500, message: `Cannot serve request: ${(error as Error)?.message ?? String(error)}` };
}
