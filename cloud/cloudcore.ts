// cloudcore assembled: PKI from Kubernetes Secrets, the edge channel (CloudHub, :10000), the certificate
// and health server (:10002), the metrics listener, the join-token refresher and the controllers.
// Its state lives in Kubernetes, so several replicas can run side by side.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import type { Message } from "../lib/protocol/mod.ts";
import { errorTo } from "../lib/protocol/mod.ts";
import type { CloudCoreConfig } from "./config.ts";
import { ensureCloudPki, startTokenRefresher } from "./certs/mod.ts";
import { type CloudHub, startCloudHub, startMetricsServer } from "./hub/mod.ts";
import { startCertServer } from "./http/mod.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the controllers give the channel: a reply for each edge request and a hook per connect. */
export interface EdgeHandlers {
  handleEdgeRequest(node: string, message: Message): Promise<Message | undefined>;
  onEdgeConnected?(node: string): void;
  close(): Promise<void>;
}

export type StartControllers = (hub: CloudHub) => Promise<EdgeHandlers>;

export interface CloudCore {
  readonly hub: CloudHub;
  readonly ports: { websocket: number; https: number; metrics: number };
  close(): Promise<void>;
}

export function edgeCertValidityMs(config: CloudCoreConfig): number {
  const hub = config.modules.cloudHub;
  return hub.edgeCertSigningDurationMinutes !== undefined
    ? hub.edgeCertSigningDurationMinutes * 60_000
    : hub.edgeCertSigningDuration * DAY_MS;
}

export async function startCloudCore(
  config: CloudCoreConfig,
  kc: KubeConfig,
  log: Logger,
  signal: AbortSignal,
  startControllers?: StartControllers,
): Promise<CloudCore> {
  const hubConfig = config.modules.cloudHub;
  const registry = new Registry();
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      await c().catch((error) => log.warn("shutdown step failed", { error }));
    }
  };
  try {
    const pki = await ensureCloudPki(kc, {
      advertiseAddresses: hubConfig.advertiseAddress,
      dnsNames: hubConfig.dnsNames,
      tokenValidityMs: 2 * hubConfig.tokenRefreshDuration * 3_600_000,
      log,
    });
    // The controllers exist only once the hub does; until then a request gets a clear error.
    let handlers: EdgeHandlers | undefined;
    const hub = await startCloudHub({
      address: hubConfig.websocket.address,
      port: hubConfig.websocket.port,
      tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      maxMessageBytes: hubConfig.maxMessageBytes,
      keepaliveTimeoutMs: hubConfig.keepaliveInterval * 1000,
      nodeLimit: hubConfig.nodeLimit,
      log: log.child({ module: "cloudhub" }),
      registry,
      onMessage: (node, message) =>
        handlers
          ? handlers.handleEdgeRequest(node, message)
          : Promise.resolve(errorTo(message, "Cannot handle request: cloudcore is starting")),
      onConnect: (node) => handlers?.onEdgeConnected?.(node),
    });
    closers.push(() => hub.close());
    if (startControllers) {
      handlers = await startControllers(hub);
      const started = handlers;
      closers.push(() => started.close());
    }
    const certServer = await startCertServer({
      address: hubConfig.https.address,
      port: hubConfig.https.port,
      pki,
      kc,
      log: log.child({ module: "certserver" }),
      registry,
      edgeCertValidityMs: edgeCertValidityMs(config),
      joinTokenValidityMs: 2 * hubConfig.tokenRefreshDuration * 3_600_000,
      readiness: () =>
        Promise.resolve({
          websocket: !signal.aborted,
          controllers: handlers !== undefined || !startControllers,
        }),
    });
    closers.push(() => certServer.close());
    const metrics = await startMetricsServer({
      address: config.metrics.address,
      port: config.metrics.port,
      registry,
      log: log.child({ module: "metrics" }),
    });
    closers.push(() => metrics.close());
    const refresher = new AbortController();
    startTokenRefresher({
      kc,
      key: { caCertDer: pki.caCertDer, caKeyDer: pki.caKeyDer },
      refreshMs: hubConfig.tokenRefreshDuration * 3_600_000,
      log,
      signal: AbortSignal.any([signal, refresher.signal]),
    });
    closers.push(() => Promise.resolve(refresher.abort()));
    return {
      hub,
      ports: { websocket: hub.port, https: certServer.port, metrics: metrics.port },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
