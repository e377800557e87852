// edgecore's local servers and its half of kubectl logs/exec/attach/port-forward: the kubelet-style server
// (logs, exec, attach, port-forward, stats, status), the MetaServer for apps on the box, and the tunnel it
// dials out to cloudcore.
import type { Logger } from "../lib/log.ts";
import type { Registry } from "../lib/metrics.ts";
import type { EdgeCoreConfig } from "./config.ts";
import { type Credentials, readCredentials } from "./certs/mod.ts";
import type { CriClient } from "./cri/mod.ts";
import type { EdgeHub } from "./hub/mod.ts";
import { metaServerForward } from "./meta/metaserver_forward.ts";
import type { PodManager } from "./pods/mod.ts";
import { startKubeletServer, startMetaServer } from "./server/mod.ts";
import type { EdgeStore } from "./store/mod.ts";
import { startStreamTunnel, type StreamTunnel, type TunnelPeer } from "./stream/mod.ts";
import { primaryAddress } from "./node/node_info.ts";

export interface EdgeServers {
  /** Call after the store changed, so MetaServer watches see it at once. */
  notify(): void;
  /** Which cloud the stream tunnel reached, if it is on and has connected. */
  tunnelPeer(): TunnelPeer | undefined;
  close(): Promise<void>;
}

function hostPort(text: string): { host: string; port: number } {
  const cut = text.lastIndexOf(":");
  return { host: text.slice(0, cut).replace(/^\[|\]$/g, ""), port: Number(text.slice(cut + 1)) };
}

export async function startEdgeServers(options: {
  config: EdgeCoreConfig;
  nodeName: string;
  cri: CriClient;
  pods: PodManager;
  store: EdgeStore;
  hub: EdgeHub;
  files: { caFile: string; certFile: string; keyFile: string };
  log: Logger;
  /** edgecore's Prometheus text, served on the kubelet-style server's /metrics. */
  metrics?: () => string;
  /** Where the kubelet-style server's own metrics (port forwards) go. */
  registry?: Registry;
}): Promise<EdgeServers> {
  const { config, nodeName, log } = options;
  const closers: Array<() => Promise<void>> = [];
  const kubeletAt = hostPort(config.modules.edgeStream.server);
  const kubelet = await startKubeletServer({
    address: kubeletAt.host,
    port: kubeletAt.port,
    nodeName,
    cri: options.cri,
    pods: options.pods,
    log: log.child({ module: "kubelet-server" }),
    metrics: options.metrics,
    registry: options.registry,
    healthy: () => options.pods.healthy(),
    status: () => ({
      node: nodeName,
      connected: options.hub.connected,
      cloud: config.modules.edgeHub.websocket.server,
      runtimeHealthy: options.pods.healthy(),
    }),
  });
  closers.push(() => kubelet.close());
  let notify = () => {};
  const meta = config.modules.metaManager.metaServer;
  if (meta.enable) {
    const at = hostPort(meta.server);
    const metaServer = await startMetaServer({
      address: at.host,
      port: at.port,
      nodeName,
      store: options.store,
      pods: options.pods,
      forward: metaServerForward(options.hub),
      connected: () => options.hub.connected,
      log: log.child({ module: "metaserver" }),
    });
    notify = () => metaServer.notify();
    closers.push(() => metaServer.close());
  }
  const stream = config.modules.edgeStream;
  let tunnel: StreamTunnel | undefined;
  if (stream.enable && stream.tunnelServer) {
    const started = startStreamTunnel({
      server: stream.tunnelServer,
      nodeName,
      nodeIP: primaryAddress(),
      // Read at every dial, so a rotated certificate is used from the next connection on.
      tls: async () => {
        const c: Credentials = await readCredentials(options.files);
        return { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem };
      },
      kubelet: { host: kubeletAt.host, port: kubelet.port },
      log: log.child({ module: "stream-tunnel" }),
    });
    tunnel = started;
    closers.push(() => started.close());
  }
  return {
    notify: () => notify(),
    tunnelPeer: () => tunnel?.peer,
    async close() {
      for (const c of closers.reverse()) {
        await c().catch((error) => log.warn("shutdown step failed", { error }));
      }
    },
  };
}
