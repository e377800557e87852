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

/** The replica forward certificate's life; renewed in memory at two thirds of it, never written anywhere. */
const PEER_CERT_VALIDITY_MS = 30 * 24 * 3_600_000;

export interface CloudStreaming {
  readonly tunnelPort: number;
  /**
   * After `cloudcore certs renew`: the tunnel port (10004) serves cloudcore's renewed certificate, and the
   * replica forward listener a new certificate from the same CA.
   */
  updateServerCertificate(certPem: string, keyPem: string): Promise<void>;
  /**
   * Reads the stream certificate files again (tlsStreamCertFile and friends) and serves them on the node
   * ports when they changed; also renews the forward certificate once two thirds of its life are gone.
   * Resolves true when anything was renewed.
   */
  refreshCertificates(): Promise<boolean>;
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
  const readStreamTls = async () => ({
    certPem: await readRequired(stream.tlsStreamCertFile, "tlsStreamCertFile"),
    keyPem: await readRequired(stream.tlsStreamPrivateKeyFile, "tlsStreamPrivateKeyFile"),
    clientCaPem: await readRequired(stream.tlsStreamCAFile, "tlsStreamCAFile"),
  });
  let streamTls = await readStreamTls();
  // Replicas forward to each other with certificates from the KubeEdge CA, which every replica holds.
  const issuePeer = async () => {
    const issued = await issueCertificate({
      ca: pki.ca,
      commonName: "kedge-cloudcore",
      usages: ["server", "client"],
      ipAddresses: [advertise],
      validityMs: PEER_CERT_VALIDITY_MS,
    });
    return {
      certPem: certificateToPem(issued.cert),
      keyPem: await privateKeyToPem(issued.keys!.privateKey),
      renewAt: Date.now() + PEER_CERT_VALIDITY_MS * 2 / 3,
    };
  };
  let peer = await issuePeer();
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
        certPem: peer.certPem,
        keyPem: peer.keyPem,
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
    const renewPeer = async () => {
      peer = await issuePeer();
      streams.updatePeerCertificate(peer.certPem, peer.keyPem);
    };
    return {
      tunnelPort: tunnels.port,
      async updateServerCertificate(certPem, keyPem) {
        tunnels.updateServerCertificate(certPem, keyPem);
        await renewPeer();
      },
      async refreshCertificates() {
        const current = await readStreamTls();
        const changed = current.certPem !== streamTls.certPem || current.keyPem !== streamTls.keyPem ||
          current.clientCaPem !== streamTls.clientCaPem;
        if (changed) {
          streams.updateNodeCertificate(current);
          streamTls = current;
        }
        const peerDue = Date.now() >= peer.renewAt;
        if (peerDue) await renewPeer();
        return changed || peerDue;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
