// cloudcore's HTTPS server on :10002: node:https (Deno.serve cannot verify client certificates) serving the
// cloudcore certificate, asking for an optional client certificate. /edge.crt runs on the raw request (GET
// with a body); every other path goes to the Hono app.
import { getRequestListener } from "@hono/node-server";
import type { KubeConfig } from "@kubernetes/client-node";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, httpsServerTimeouts } from "../../lib/server_timeouts.ts";
import { type CloudPki, DEFAULT_TOKEN_VALIDITY_MS } from "../certs/mod.ts";
import { createCertApp } from "./app.ts";
import { DEFAULT_MAX_BODY_BYTES, EDGE_CERT_PATH, handleEdgeCert } from "./edge_cert.ts";
import type { Checks } from "./health.ts";
import { registerCertServerMetrics } from "./metrics.ts";

export interface CertServerOptions {
  /** Listen address, e.g. "0.0.0.0". */
  readonly address: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly pki: CloudPki;
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly registry: Registry;
  /** Validity of a signed edge certificate (edgeCertSigningDuration). */
  readonly edgeCertValidityMs: number;
  /** Validity of a join token from POST /token. Default 24 h. */
  readonly joinTokenValidityMs?: number;
  /** Extra /readyz checks (e.g. the WebSocket listener). */
  readonly readiness?: () => Promise<Checks>;
  /** Largest /edge.crt body. Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Time a new connection gets for its TLS handshake, and again for its request headers. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export interface CertServer {
  readonly port: number;
  /** Serves a renewed certificate to new connections (`cloudcore certs renew`), without a restart. */
  updateServerCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

export async function startCertServer(options: CertServerOptions): Promise<CertServer> {
  const { pki, log } = options;
  const metrics = registerCertServerMetrics(options.registry, pki);
  const server = createServer({
    cert: pki.serverCertPem,
    key: pki.serverKeyPem,
    ca: pki.caPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: "TLSv1.2",
    // The body of /edge.crt has its own limit (BODY_TIMEOUT_MS, lib/http_body.ts).
    ...httpsServerTimeouts(options.handshakeTimeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS),
  });
  const app = createCertApp({
    pki,
    kc: options.kc,
    log,
    metrics,
    joinTokenValidityMs: options.joinTokenValidityMs ?? DEFAULT_TOKEN_VALIDITY_MS,
    listening: () => server.listening,
    readiness: options.readiness,
  });
  const honoListener = getRequestListener(app.fetch);
  const edgeCert = {
    pki,
    log,
    metrics,
    validityMs: options.edgeCertValidityMs,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
  server.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const path = (incoming.url ?? "").split("?")[0];
    if (path === EDGE_CERT_PATH) {
      handleEdgeCert(incoming, outgoing, edgeCert).catch((error) => {
        log.error("edge certificate request failed", { error });
        if (!outgoing.headersSent) outgoing.writeHead(500).end();
      });
      return;
    }
    honoListener(incoming, outgoing).catch((error) => log.error("cert server request failed", { error }));
  });
  server.on("tlsClientError", (error) => log.debug("tls handshake failed", { error }));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info("cert server listening", { address: options.address, port });
  return {
    port,
    updateServerCertificate(certPem, keyPem) {
      server.setSecureContext({ cert: certPem, key: keyPem, ca: pki.caPem });
      log.info("server certificate updated");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
