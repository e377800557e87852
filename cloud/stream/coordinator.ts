/**
 * Stream state kept in Kubernetes, so any replica can serve any node (no iptables, no shared database):
 *
 * - ConfigMap `<namespace>/kedge-stream-ports`: node -> stream port, assigned once from `portRange` with an
 *   optimistic update (resourceVersion precondition), the same on every replica. Every replica listens on
 *   every assigned port, so the apiserver may land on any of them.
 * - Lease `<namespace>/kedge-stream-<node>`: holderIdentity = the forward address (HOST:PORT) of the replica
 *   holding the node's tunnel, renewed while it does; a replica without the tunnel forwards there.
 * - The Node's status gets `addresses = [InternalIP: advertiseAddress]` and `daemonEndpoints.kubeletEndpoint.
 *   Port = its stream port` (JSON merge patch), which is where the apiserver dials for logs and exec.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { apiStatusOf } from "../kube/mod.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import type { StreamServer } from "./stream_server.ts";

export const PORTS_CONFIGMAP = "kedge-stream-ports";
export const LEASE_PREFIX = "kedge-stream-";

export interface StreamCoordinatorOptions {
  readonly kc: KubeConfig;
  /** Default "kubeedge". */
  readonly namespace?: string;
  /** This replica's forward address HOST:PORT (its identity in the Leases). */
  readonly replica: string;
  /** The address the apiserver dials for this node's kubelet: cloudStream's advertise address (or a load balancer). */
  readonly advertiseAddress: string;
  /** Ports handed to nodes, inclusive. Config: cloudStream.nodePortRange, e.g. 20000-29999. */
  readonly portRange: { readonly min: number; readonly max: number };
  readonly streamServer: StreamServer;
  readonly log?: Logger;
  /** How often assigned ports are read and held Leases renewed. Default 5 s. */
  readonly syncMs?: number;
  /** Lease duration. Default 30 s. */
  readonly leaseSeconds?: number;
}

export interface StreamCoordinator {
  /** A tunnel for `node` arrived on this replica. */
  nodeConnected(node: string): Promise<void>;
  /** It went away. */
  nodeDisconnected(node: string): Promise<void>;
  /** Forward address of the replica holding `node`'s tunnel (unexpired Lease), if any. */
  holderOf(node: string): Promise<string | undefined>;
  /** Reads the port map and listens on new ports now (also done every syncMs). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function startStreamCoordinator(o: StreamCoordinatorOptions): StreamCoordinator {
  const log = (o.log ?? createLogger({ component: "cloudcore" })).child({ module: "stream-coordinator" });
  const namespace = o.namespace ?? "kubeedge";
  const core = o.kc.makeApiClient(CoreV1Api);
  const coordination = o.kc.makeApiClient(CoordinationV1Api);
  const leaseSeconds = o.leaseSeconds ?? 30;
  const held = new Set<string>();
  let stopped = false;

  const readPorts = async (): Promise<V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ name: PORTS_CONFIGMAP, namespace });
    } catch (error) {
      if (apiStatusOf(error) === 404) return undefined;
      throw error;
    }
  };

  /** The node's port, assigning the lowest free one in the range (retried on a conflicting update). */
  const assignPort = async (node: string): Promise<number> => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cm = await readPorts();
      const data = cm?.data ?? {};
      const existing = Number(data[node]);
      if (Number.isInteger(existing) && existing > 0) return existing;
      const used = new Set(Object.values(data).map(Number));
      let port = o.portRange.min;
      while (used.has(port) && port <= o.portRange.max) port++;
      if (port > o.portRange.max) {
        throw new RangeError(
          `Cannot assign a stream port to ${node}: the range ${o.portRange.min}-${o.portRange.max} is full`,
        );
      }
      try {
        if (!cm) {
          await core.createNamespacedConfigMap({
            namespace,
            body: { metadata: { name: PORTS_CONFIGMAP, namespace }, data: { [node]: String(port) } },
          });
        } else {
          await core.replaceNamespacedConfigMap({
            name: PORTS_CONFIGMAP,
            namespace,
            body: { ...cm, data: { ...data, [node]: String(port) } },
          });
        }
        log.info("stream port assigned", { node, port });
        return port;
      } catch (error) {
        if (apiStatusOf(error) !== 409) throw error;
      }
    }
    throw new Error(`Cannot assign a stream port to ${node}: too many conflicting updates`);
  };

  const leaseName = (node: string) => `${LEASE_PREFIX}${node}`;
  const writeLease = async (node: string) => {
    // MicroTime must have 6 fractional digits; client-node passes a string through unchanged.
    const now = microTime(new Date()) as unknown as Date;
    const spec = {
      holderIdentity: o.replica,
      leaseDurationSeconds: leaseSeconds,
      renewTime: now,
      acquireTime: now,
    };
    try {
      const lease = await coordination.readNamespacedLease({ name: leaseName(node), namespace });
      if (lease.spec?.holderIdentity === o.replica && lease.spec.acquireTime) {
        spec.acquireTime = microTime(new Date(lease.spec.acquireTime)) as unknown as Date;
      }
      await coordination.replaceNamespacedLease({
        name: leaseName(node),
        namespace,
        body: { metadata: lease.metadata, spec },
      });
    } catch (error) {
      if (apiStatusOf(error) !== 404) throw error;
      await coordination.createNamespacedLease({
        namespace,
        body: { metadata: { name: leaseName(node), namespace }, spec },
      });
    }
  };

  /** Nodes whose stream endpoint could not be written yet (the tunnel may come before the Node exists). */
  const unpublished = new Map<string, number>();
  const publishEndpoint = async (node: string, port: number) => {
    try {
      await core.patchNodeStatus({
        name: node,
        body: {
          status: {
            addresses: [{ type: "InternalIP", address: o.advertiseAddress }],
            daemonEndpoints: { kubeletEndpoint: { Port: port } },
          },
        },
      }, MERGE);
      unpublished.delete(node);
    } catch (error) {
      if (!unpublished.has(node)) {
        log.info("node stream endpoint not written yet", { node, status: apiStatusOf(error) });
      }
      unpublished.set(node, port);
    }
  };

  const sync = async () => {
    const data = (await readPorts())?.data ?? {};
    for (const [node, value] of Object.entries(data)) {
      const port = Number(value);
      if (o.streamServer.ports().get(node) === port) continue;
      await o.streamServer.listen(node, port).catch((error) =>
        log.warn("stream port unavailable", { node, port, error })
      );
    }
    for (const node of held) {
      await writeLease(node).catch((error) => log.warn("stream lease renewal failed", { node, error }));
    }
    for (const [node, port] of unpublished) if (held.has(node)) await publishEndpoint(node, port);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      await sync().catch((error) => log.warn("stream sync failed", { error }));
      if (!stopped) loop();
    }, o.syncMs ?? 5000);
  };
  loop();

  return {
    async nodeConnected(node) {
      held.add(node);
      const port = await assignPort(node);
      await o.streamServer.listen(node, port);
      await writeLease(node);
      await publishEndpoint(node, port);
    },
    async nodeDisconnected(node) {
      held.delete(node);
      unpublished.delete(node);
      try {
        const lease = await coordination.readNamespacedLease({ name: leaseName(node), namespace });
        if (lease.spec?.holderIdentity !== o.replica) return;
        await coordination.deleteNamespacedLease({
          name: leaseName(node),
          namespace,
          body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
        });
      } catch (error) {
        if (apiStatusOf(error) !== 404 && apiStatusOf(error) !== 409) {
          log.warn("stream lease release failed", { node, error });
        }
      }
    },
    async holderOf(node) {
      try {
        const lease = await coordination.readNamespacedLease({ name: leaseName(node), namespace });
        const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
        const ttl = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
        return Date.now() - renewed <= ttl ? lease.spec?.holderIdentity : undefined;
      } catch (error) {
        if (apiStatusOf(error) === 404) return undefined;
        throw error;
      }
    },
    sync,
    stop() {
      stopped = true;
      clearTimeout(timer);
      return Promise.resolve();
    },
  };
}
