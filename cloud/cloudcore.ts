// cloudcore assembled: PKI from Kubernetes Secrets, the edge channel (CloudHub, :10000), the certificate
// and health server (:10002), the metrics listener, the join-token refresher and the controllers.
// Its state lives in Kubernetes, so several replicas can run side by side.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { registerProcessMetrics } from "../lib/process_metrics.ts";
import type { CloudCoreConfig } from "./config.ts";
import { ensureCloudPki, readServerCertificate, startTokenRefresher } from "./certs/mod.ts";
import { type CloudHub, startCloudHub, startMetricsServer } from "./hub/mod.ts";
import { startCertServer } from "./http/mod.ts";
import { createEdgeControllers } from "./controllers/mod.ts";
import { createDeviceController, installDeviceCrds, isDeviceMessage } from "./devices/mod.ts";
import { type CloudStreaming, startCloudStreaming } from "./streaming.ts";
import { RULE_CRDS_YAML } from "./crds/mod.ts";
import { installCrds } from "./kube/mod.ts";
import { createRouter, isRouterMessage, type Router } from "./router/mod.ts";
import { requestLimiterOf } from "./kube/rate_limit.ts";
import { watchChecks } from "./kube/mod.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CloudCore {
  readonly hub: CloudHub;
  readonly ports: { websocket: number; https: number; metrics: number; router?: number };
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
): Promise<CloudCore> {
  const hubConfig = config.modules.cloudHub;
  const registry = new Registry();
  const processMetrics = registerProcessMetrics(registry, "kedge_cloud");
  const limiter = requestLimiterOf(kc);
  if (limiter) {
    const throttled = registry.gauge(
      "kedge_cloud_apiserver_throttled_requests",
      "apiserver requests that waited for kubeAPIConfig.qps/burst since start, and their total wait.",
    );
    registry.onCollect(() => {
      throttled.set(limiter.waited, { measure: "requests" });
      throttled.set(limiter.waitedSeconds, { measure: "seconds" });
    });
  }
  const closers: Array<() => Promise<void>> = [() => Promise.resolve(processMetrics.stop())];
  const close = async () => {
    for (const c of closers.reverse()) {
      await c().catch((error) => log.warn("shutdown step failed", { error }));
    }
  };
  try {
    const pki = await ensureCloudPki(kc, {
      advertiseAddresses: hubConfig.advertiseAddress,
      dnsNames: hubConfig.dnsNames,
      serverValidityDays: hubConfig.serverCertValidityDays,
      tokenValidityMs: 2 * hubConfig.tokenRefreshDuration * 3_600_000,
      log,
    });
    // The controllers list everything before the hub accepts an edge, so the first request an edge makes is
    // answered, never refused as "starting". Until the hub exists no edge is connected: what the informers
    // would deliver meanwhile reaches each edge through its resync report when it connects.
    const late: { hub?: CloudHub } = {};
    const controllers = createEdgeControllers({
      kubeConfig: kc,
      downstream: { send: (node, item) => void late.hub?.send(node, item) },
      log,
      registry,
      streamEndpoints: config.modules.cloudStream.enable,
    });
    closers.push(() => controllers.stop());
    await controllers.start();
    // --- Devices (cloud/devices): the CRDs, then the device controller; device messages from edges go to it.
    await installDeviceCrds(kc, { log });
    const devices = createDeviceController({
      kubeConfig: kc,
      downstream: { send: (node, item) => void late.hub?.send(node, item) },
      log,
      registry,
      // One count of refused edge requests, whichever controller refused them.
      denied: controllers.denied,
    });
    closers.push(() => devices.stop());
    await devices.start();
    // --- end of devices
    // --- Router (cloud/router): the Rule CRDs always (as KubeEdge installs them), the module when enabled.
    await installCrds(kc, RULE_CRDS_YAML, { log });
    let router: Router | undefined;
    if (config.modules.router.enable) {
      router = createRouter({
        kubeConfig: kc,
        config: config.modules.router,
        hub: {
          post: (node, message) => {
            if (!late.hub) throw new Error(`Cannot send to node ${node}: cloudhub is not started`);
            late.hub.post(node, message);
          },
          isConnected: (node) => late.hub?.isConnected(node) ?? false,
        },
        isEdgeNode: (node) => controllers.isEdgeNode(node),
        log,
        registry,
      });
      closers.push(() => router!.stop());
      await router.start();
    }
    // --- end of router
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
        router && isRouterMessage(message)
          ? router.handleEdgeMessage(node, message)
          : isDeviceMessage(message)
          ? devices.handleEdgeMessage(node, message)
          : controllers.handleEdgeRequest(node, message),
      onConnect: (node) => {
        controllers.onEdgeConnected(node);
        devices.onEdgeConnected(node);
        router?.onEdgeConnected(node);
      },
      onDisconnect: (node) => controllers.onEdgeDisconnected(node),
    });
    late.hub = hub;
    closers.push(() => hub.close());
    let streaming: CloudStreaming | undefined;
    if (config.modules.cloudStream.enable) {
      streaming = await startCloudStreaming(config, kc, pki, log.child({ module: "stream" }), registry);
      closers.push(() => streaming!.close());
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
      // The controllers have listed (startCloudCore awaited them) and the hub listens until shutdown; each
      // watch of the apiserver must be open, or what changes there would not reach the edges.
      readiness: () => Promise.resolve({ websocket: !signal.aborted, ...watchChecks(registry) }),
    });
    closers.push(() => certServer.close());
    // `cloudcore certs renew` (on any replica) replaces the Secret: every replica serves the new certificate on
    // the hub, certificate and stream tunnel ports, and a new forward certificate between replicas, within
    // serverCertCheckInterval, without a restart; edges keep working since the CA is the same.
    const renewal = setInterval(() => {
      readServerCertificate(kc).then(async (current) => {
        if (current.certPem === servedCertPem) return;
        hub.updateServerCertificate(current.certPem, current.keyPem);
        certServer.updateServerCertificate(current.certPem, current.keyPem);
        await streaming?.updateServerCertificate(current.certPem, current.keyPem);
        servedCertPem = current.certPem;
        log.info("renewed server certificate in use", { serial: current.serial });
      }).catch((error) => log.warn("server certificate check failed", { error }));
      // The stream ports' certificate comes from files the operator (or a cert-manager) replaces.
      streaming?.refreshCertificates().then((renewed) => {
        if (renewed) log.info("renewed stream certificates in use");
      }).catch((error) => log.warn("stream certificate check failed", { error }));
    }, hubConfig.serverCertCheckInterval * 1000);
    let servedCertPem = pki.serverCertPem;
    closers.push(() => Promise.resolve(clearInterval(renewal)));
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
      ports: { websocket: hub.port, https: certServer.port, metrics: metrics.port, router: router?.port },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
