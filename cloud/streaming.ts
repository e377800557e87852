// cloudcore's half of kubectl logs/exec/attach, assembled from cloud/stream: the tunnel server edges dial,
// the stream server kube-apiserver calls as each node's kubelet (one port per node, no iptables), and the
// coordinator that records in Kubernetes which replica holds which tunnel. See docs/streaming.md.
import { AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { ConfigError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Registry } from "../lib/metrics.ts";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import type { CloudPki } from "./certs/mod.ts";
import type { CloudCoreConfig } from "./config.ts";
import { startStreamCoordinator, startStreamServer, startTunnelServer } from "./stream/mod.ts";
import { KubeletAuthorizer } from "./stream/kubelet_authz.ts";

export interface CloudStreaming {
  readonly tunnelPort: number;
  /** The tunnel port (10004) serves cloudcore's renewed certificate; the stream ports have their own. */
  updateServerCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

async function readRequired(path: string, field: string): Promise<string> {
  if (!path) {
    throw new ConfigError("cloudcore config", [
      `modules.cloudStream.${field}: required when cloudStream is enabled`,
    ]);
  }
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError("cloudcore config", [
      `modules.cloudStream.${field}: cannot read ${path}: ${(error as Error).message}`,
    ]);
  }
}

export async function startCloudStreaming(
  config: CloudCoreConfig,
  kc: KubeConfig,
  pki: CloudPki,
  log: Logger,
  registry: Registry,
): Promise<CloudStreaming> {
  const stream = config.modules.cloudStream;
  const hub = config.modules.cloudHub;
  const advertise = stream.streamAdvertiseAddress || hub.advertiseAddress[0];
  if (!advertise) {
    throw new ConfigError("cloudcore config", [
      "modules.cloudStream.streamAdvertiseAddress: required when cloudStream is enabled and no advertiseAddress is set",
    ]);
  }
  const streamTls = {
    certPem: await readRequired(stream.tlsStreamCertFile, "tlsStreamCertFile"),
    keyPem: await readRequired(stream.tlsStreamPrivateKeyFile, "tlsStreamPrivateKeyFile"),
    clientCaPem: await readRequired(stream.tlsStreamCAFile, "tlsStreamCAFile"),
  };
  // Replicas forward to each other with certificates from the KubeEdge CA, which every replica holds.
  const peer = await issueCertificate({
    ca: pki.ca,
    commonName: "kedge-cloudcore",
    usages: ["server", "client"],
    ipAddresses: [advertise],
  });
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) {
      await c().catch((error) => log.warn("shutdown step failed", { error }));
    }
  };
  try {
    const late: { coordinator?: ReturnType<typeof startStreamCoordinator> } = {};
    const tunnels = await startTunnelServer({
      address: hub.websocket.address,
      port: stream.tunnelPort,
      tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      nodeLimit: hub.nodeLimit,
      log,
      onConnect: (node) =>
        void late.coordinator?.nodeConnected(node).catch((error) =>
          log.warn("stream endpoint not published", { node, error })
        ),
      onDisconnect: (node) => void late.coordinator?.nodeDisconnected(node),
    });
    closers.push(() => tunnels.close());
    const tunnelGauge = registry.gauge(
      "kedge_cloud_stream_tunnels",
      "Stream tunnels held by this replica, by wire form (mux: kedge's edge; kubeedge: KubeEdge's framing).",
    );
    registry.onCollect(() => {
      const counts = { mux: 0, kubeedge: 0 };
      for (const node of tunnels.nodes()) {
        const tunnel = tunnels.tunnel(node);
        if (tunnel) counts[tunnel.kind] += 1;
      }
      for (const [protocol, count] of Object.entries(counts)) tunnelGauge.set(count, { protocol });
    });
    const authorization = kc.makeApiClient(AuthorizationV1Api);
    const authorizer = new KubeletAuthorizer({
      review: async ({ user, groups, verb, subresource, node }) => {
        const review = await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user,
              groups: [...groups],
              resourceAttributes: { verb, resource: "nodes", subresource, name: node, version: "v1" },
            },
          },
        });
        return { allowed: review.status?.allowed === true, reason: review.status?.reason };
      },
    });
    const denied = registry.counter(
      "kedge_cloud_stream_denied_total",
      "Requests to a node's stream port (kubectl logs, exec, stats) the caller had no right to, by subresource.",
    );
    const streams = await startStreamServer({
      authorizer,
      onDenied: (subresource) => denied.inc({ subresource }),
      address: advertise,
      tls: streamTls,
      tunnels,
      holderOf: (node) => late.coordinator?.holderOf(node) ?? Promise.resolve(undefined),
      peer: {
        address: advertise,
        port: stream.peerPort,
        caPem: pki.caPem,
        certPem: certificateToPem(peer.cert),
        keyPem: await privateKeyToPem(peer.keys!.privateKey),
      },
      log,
    });
    closers.push(() => streams.close());
    const coordinator = startStreamCoordinator({
      kc,
      replica: `${advertise}:${streams.peerPort}`,
      advertiseAddress: advertise,
      portRange: stream.nodePortRange,
      streamServer: streams,
      log,
    });
    late.coordinator = coordinator;
    closers.push(() => coordinator.stop());
    return {
      tunnelPort: tunnels.port,
      updateServerCertificate: (certPem, keyPem) => tunnels.updateServerCertificate(certPem, keyPem),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
