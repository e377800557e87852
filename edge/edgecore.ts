// edgecore assembled: the SQLite store, the link to cloudcore (EdgeHub + certificate rotation), the pod
// manager on containerd, the node's status and lease, and the device twins on the MQTT EventBus.
// Everything the box must remember is in the store, so a restart with the cloud away resumes from it.
import { dirname } from "node:path";
import type { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { registerProcessMetrics } from "../lib/process_metrics.ts";
import { registerIdleGcMetrics, startIdleGc } from "../lib/idle_gc.ts";
import type { Message } from "../lib/protocol/mod.ts";
import type { EdgeCoreConfig } from "./config.ts";
import { readCredentials, runCertificateRotation } from "./certs/mod.ts";
import { type EdgeHub, offlineHub, startEdgeHub } from "./hub/mod.ts";
import { applyCloudMessage } from "./meta/apply.ts";
import { PodStatusUplink } from "./meta/pod_status.ts";
import { reportHoldings } from "./meta/resync.ts";
import { StoreObjects } from "./meta/store_objects.ts";
import { objectUpdateFromPatchReply } from "./meta/patch_replies.ts";
import { objectFetcher } from "./meta/object_query.ts";
import { ServiceLister } from "./meta/service_lister.ts";
import { PodEventUplink } from "./meta/pod_events.ts";
import { ServiceAccountTokens } from "./meta/service_account_tokens.ts";
import { UpstreamSender } from "./meta/upstream.ts";
import { NodeAgent } from "./node/node_agent.ts";
import { readNodeFacts } from "./node/node_info.ts";
import { createCriClient } from "./cri/mod.ts";
import { startEdgeDevices } from "./devices/mod.ts";
import { startDmi } from "./dmi/mod.ts";
import { type PodManager, type PodSource, startPodManager, staticPodSource } from "./pods/mod.ts";
import { EdgeStore } from "./store/mod.ts";
import { startEdgeServers } from "./streaming.ts";
import { startEdgeRouter } from "./router.ts";
import type { TunnelPeer } from "./stream/mod.ts";

export interface EdgeCore {
  readonly hub: EdgeHub;
  readonly store: EdgeStore;
  readonly pods: PodManager;
  close(): Promise<void>;
}

export async function startEdgeCore(
  config: EdgeCoreConfig,
  nodeName: string,
  log: Logger,
  signal: AbortSignal,
): Promise<EdgeCore> {
  const { edged, edgeHub } = config.modules;
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      await Promise.resolve(c()).catch((error) => log.warn("shutdown step failed", { error }));
    }
  };
  const stop = new AbortController();
  const lifetime = AbortSignal.any([signal, stop.signal]);
  closers.push(() => stop.abort());
  try {
    if (config.database.dataSource !== ":memory:") {
      await Deno.mkdir(dirname(config.database.dataSource), { recursive: true });
    }
    const store = new EdgeStore(config.database.dataSource, log.child({ module: "store" }));
    closers.push(() => store.close());
    const objects = new StoreObjects(store, log.child({ module: "meta" }));
    const files = {
      caFile: edgeHub.tlsCaFile,
      certFile: edgeHub.tlsCertFile,
      keyFile: edgeHub.tlsPrivateKeyFile,
    };

    // The hub calls back into parts made after it, and may connect (and receive) while they are still being
    // made: its callbacks wait until everything is wired. (Before, a fast connect hit a handler not yet
    // defined: the delivery failed unacked and the connect skipped node registration.)
    let onConnected: () => void = () => {};
    const wired = Promise.withResolvers<void>();
    // Not joined yet (no cloud address): run from the store and static pods alone.
    const hub = edgeHub.websocket.server === "" ? offlineHub() : startEdgeHub({
      server: edgeHub.websocket.server,
      projectID: edgeHub.projectID,
      nodeName,
      credentials: () => readCredentials(files),
      heartbeatMs: edgeHub.heartbeat * 1000,
      maxMessageBytes: edgeHub.maxMessageBytes,
      log: log.child({ module: "edgehub" }),
      onMessage: async (message) => {
        await wired.promise;
        return handleCloudMessage(message);
      },
      onConnect: () => void wired.promise.then(() => onConnected()),
      signal: lifetime,
    });
    closers.push(() => hub.close());
    const services = new ServiceLister(store.database, log.child({ module: "services" }));
    services.connect(hub, nodeName);
    objects.serviceLister = services;
    let storeCloudObject = (_message: Message): void => {};
    const upstream = new UpstreamSender(store, hub, log.child({ module: "upstream" }), (request, object) => {
      const update = objectUpdateFromPatchReply(store, request, object);
      if (update) storeCloudObject(update);
    });

    const cri = createCriClient({
      endpoint: edged.containerRuntimeEndpoint,
      timeoutMs: edged.runtimeRequestTimeout * 1000,
    });
    closers.push(() => cri.close());
    let runtimeVersion = "unknown";
    cri.version().then((v) => runtimeVersion = `${v.runtimeName}://${v.runtimeVersion}`).catch(() => {});
    const events = new PodEventUplink(hub, nodeName, log.child({ module: "events" }));
    const sources: PodSource[] = [objects];
    if (edged.staticPodPath) sources.push(staticPodSource({ path: edged.staticPodPath, nodeName, log }));
    const pods = await startPodManager({
      cri,
      nodeName,
      rootDirectory: edged.rootDirectory,
      podLogsDirectory: edged.podLogsDirectory,
      podSandboxImage: edged.podSandboxImage,
      sources,
      statusSink: new PodStatusUplink(store, upstream),
      allocatable: readNodeFacts(nodeName, "").capacity,
      objects,
      events,
      allowedUnsafeSysctls: edged.allowedUnsafeSysctls,
      log: log.child({ module: "pods" }),
      gc: {
        imageHighPercent: edged.imageGCHighThreshold,
        imageLowPercent: edged.imageGCLowThreshold,
        maxDeadPerContainer: edged.maximumDeadContainersPerPod,
      },
    });
    closers.push(() => pods.stop());

    let tunnelPeer: () => TunnelPeer | undefined = () => undefined;
    const node = new NodeAgent({
      nodeName,
      labels: edged.nodeLabels,
      facts: () => readNodeFacts(nodeName, runtimeVersion),
      kubeletPort: Number(config.modules.edgeStream.server.split(":").pop()),
      // With the stream tunnel on, kedge's cloudcore publishes the node's address and kubelet port, KubeEdge's
      // only the port (docs/streaming.md).
      reportEndpoints: config.modules.edgeStream.enable
        ? () => tunnelPeer() === "kubeedge" ? "addresses" : "none"
        : true,
      statusEveryMs: edged.nodeStatusUpdateFrequency * 1000,
      reportEveryMs: edged.nodeStatusReportFrequency * 1000,
      leaseDurationSeconds: edged.nodeLeaseDurationSeconds,
      uplink: hub,
      upstream,
      log: log.child({ module: "node" }),
      signal: lifetime,
    });
    node.start();

    const registry = new Registry();
    const processMetrics = registerProcessMetrics(registry, "kedge_edge", 1000);
    const idleGc = startIdleGc();
    registerIdleGcMetrics(registry, "kedge_edge", idleGc);
    closers.push(() => Promise.resolve(idleGc.stop()));
    closers.push(() => processMetrics.stop());
    const metrics = () => registry.render();
    const servers = await startEdgeServers({
      config,
      nodeName,
      cri,
      pods,
      store,
      hub,
      files,
      log,
      metrics,
      registry,
    });
    closers.push(() => servers.close());
    tunnelPeer = () => servers.tunnelPeer();
    const devices = startEdgeDevices({ store, hub, config, nodeName, log });
    closers.push(() => devices.close());
    const router = startEdgeRouter({ bus: devices.bus, hub, config, nodeName, log, registry });
    closers.push(() => router.close());
    if (config.modules.deviceTwin.enable) {
      // Mappers over DMI (docs/devices.md). A socket that cannot be served leaves MQTT devices working.
      try {
        const dmi = await startDmi({ store, devices, config, log, registry });
        closers.push(() => dmi.close());
      } catch (error) {
        log.error("dmi not started", { error });
      }
    }
    objects.tokens = new ServiceAccountTokens(hub, log.child({ module: "tokens" }));
    objects.fetcher = objectFetcher(
      hub,
      (delivery) => void (applyCloudMessage(store, objects, delivery, log) !== "ignored" && servers.notify()),
      log.child({ module: "meta" }),
    );
    storeCloudObject = (message) => {
      if (applyCloudMessage(store, objects, message, log) !== "ignored") servers.notify();
    };
    const handleCloudMessage = async (message: Message): Promise<void> => {
      if (await router.handleCloudMessage(message)) return;
      if (await devices.handleCloudMessage(message)) return;
      if (applyCloudMessage(store, objects, message, log) !== "ignored") servers.notify();
    };
    onConnected = () => {
      log.info("connected to cloudcore", { server: edgeHub.websocket.server });
      void (async () => {
        // First what the edge holds (so kedge's cloud sends only the difference), then the node, then the
        // outbox. The report is sent first but not awaited: KubeEdge's cloud never answers it, and the node
        // must not wait 30 s for that.
        void reportHoldings(store, hub, nodeName, log).catch((error) =>
          log.info("resync report not answered", { error })
        );
        await node.onConnected();
        await upstream.flush();
        events.flush();
        await devices.onConnected().catch((error) => log.warn("device reports not sent", { error }));
      })();
    };

    wired.resolve();

    if (edgeHub.rotateCertificates && edgeHub.httpServer) {
      const rotation = runCertificateRotation({
        files,
        // Loaded when a renewal is due: the CSR code (an ASN.1 library) is not kept in memory between them.
        renew: async (current) => {
          const { renewCertificate } = await import("./join/renew.ts");
          return await renewCertificate({ httpServer: edgeHub.httpServer, nodeName, ...current });
        },
        onRotated: () => hub.reconnect(),
        log: log.child({ module: "rotation" }),
        signal: lifetime,
      }).catch((error) => log.error("certificate rotation stopped", { error }));
      closers.push(() => rotation.then(() => {}));
    }
    return { hub, store, pods, close };
  } catch (error) {
    await close();
    throw error;
  }
}
