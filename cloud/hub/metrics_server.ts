/** cloudcore's Prometheus listener (127.0.0.1:9091 upstream): GET /metrics, 404 elsewhere. */
import http from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../lib/log.ts";
import { PROMETHEUS_CONTENT_TYPE, type Registry } from "../../lib/metrics.ts";

export interface MetricsServerOptions {
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly registry: Registry;
  readonly log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry } = options;
  const log = options.log.child({ module: "metrics" });
  const sockets = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { "content-type": "text/plain", allow: "GET, HEAD" }).end("method not allowed\n");
      return;
    }
    let body: string;
    try {
      body = registry.render();
    } catch (err) {
      log.error("metrics render failed", { error: err });
      res.writeHead(500, { "content-type": "text/plain" }).end("cannot render metrics\n");
      return;
    }
    res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  // Requests have no body worth reading; a slow client must not hold a socket for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.on("connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`Cannot listen on ${options.address}:${options.port}: ${err.message}`));
    server.once("error", onError);
    server.listen(options.port, options.address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info("metrics listening", { address: options.address, port });
  return {
    port,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
