/**
 * cloudcore's controllers for edge nodes, wired together: informers -> index -> deliveries to the hub,
 * resync on connect, and the edge's requests to the apiserver behind node authorization.
 *
 * ```ts
 * const controllers = createEdgeControllers({ kubeConfig, downstream: hub, log, registry });
 * await controllers.start();            // resolves once nodes, pods, configmaps and secrets have listed
 * hub.onMessage = (node, m) => controllers.handleEdgeRequest(node, m);
 * hub.onConnect = (node) => controllers.onEdgeConnected(node);
 * ```
 */
import { forgetLease } from "./node_requests.ts";
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Counter, Registry } from "../../lib/metrics.ts";
import type { Message } from "../../lib/protocol/mod.ts";
import type { AuthorizationView } from "./authorize.ts";
import { DownstreamSync, type ReferencedObjects } from "./downstream_sync.ts";
import { EdgeIndex } from "./edge_index.ts";
import { createEdgeRequestHandler } from "./edge_requests.ts";
import { OwnStatusWrites } from "./own_writes.ts";
import { Informers } from "./informers.ts";
import type { ReflectorTiming } from "../kube/mod.ts";
import { DEFAULT_FULL_SYNC_GRACE_MS, Resync } from "./resync.ts";
import type { Downstream } from "./types.ts";

export interface EdgeControllersOptions {
  readonly kubeConfig: KubeConfig;
  /** Where object deliveries go: the hub's per-node queues. */
  readonly downstream: Downstream;
  readonly log: Logger;
  readonly registry: Registry;
  /** How long after a connect an edge may take to report what it holds before it gets a full sync. */
  readonly fullSyncGraceMs?: number;
  /** Backoff and staleness limits of the watches (tests shorten them). */
  readonly reflectorTiming?: Partial<ReflectorTiming>;
  /** cloudStream is on: node addresses and kubelet ports are the stream coordinator's, not the edge's. */
  readonly streamEndpoints?: boolean;
}

export interface EdgeControllers extends AsyncDisposable {
  /** Starts the informers; resolves once all have listed (deliveries for existing objects are then queued). */
  start(): Promise<void>;
  /** Stops informers and timers; pending requests answer that cloudcore is stopping. */
  stop(): Promise<void>;
  /** Serves one message from `node`; the result is the reply (undefined for replies such as acks). */
  handleEdgeRequest(node: string, message: Message): Promise<Message | undefined>;
  /** A session for `node` opened: resync by its report, or fully after the grace period. */
  onEdgeConnected(node: string): void;
  /** The session closed before the grace period: no full sync for it. */
  onEdgeDisconnected(node: string): void;
  /** kedge_cloud_denied_requests_total{operation,reason}: the device controller counts its denials here too. */
  readonly denied: Counter;
  /** Whether a Node of that name exists and is an edge node (informer cache). */
  isEdgeNode(name: string): boolean;
}

export function createEdgeControllers(options: EdgeControllersOptions): EdgeControllers {
  const log = options.log.child({ module: "controllers" });
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const coordination = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const unchangedWrites = options.registry.counter(
    "kedge_cloud_unchanged_writes_skipped_total",
    "Edge status patches answered from the cache because they would change nothing",
  );
  const denied = options.registry.counter(
    "kedge_cloud_denied_requests_total",
    "Edge requests refused by node authorization, by operation and reason.",
  );
  const index = new EdgeIndex();
  const objects: ReferencedObjects = {
    get: (type, namespace, name) =>
      type === "configmap"
        ? informers.caches.configMaps.get(name, namespace)
        : informers.caches.secrets.get(name, namespace),
  };
  const ownWrites = new OwnStatusWrites();
  const echoesSkipped = options.registry.counter(
    "kedge_cloud_status_echoes_skipped_total",
    "Watch events of an edge's own status writes not sent back to it",
  );
  const sync = new DownstreamSync(index, options.downstream, objects, log, {
    writes: ownWrites,
    skipped: echoesSkipped,
  });
  const informers: Informers = new Informers(
    options.kubeConfig,
    core,
    {
      node: (event, node) => {
        // A deleted Node's Lease goes with it: forget the version cached for its renewals.
        if (event === "delete" && node.metadata?.name) forgetLease(coordination, node.metadata.name);
        sync.onNode(event, node);
      },
      pod: (event, pod) => sync.onPod(event, pod),
      configMap: (event, configMap) => sync.onReferenced("configmap", event, configMap),
      secret: (event, secret) => sync.onReferenced("secret", event, secret),
    },
    { log, registry: options.registry, timing: options.reflectorTiming },
  );

  let stopped = false;
  let settle: (synced: boolean) => void = () => {};
  const syncedPromise = new Promise<boolean>((resolve) => settle = resolve);
  const synced = () => syncedPromise;

  const resync = new Resync({
    sync,
    log,
    graceMs: options.fullSyncGraceMs ?? DEFAULT_FULL_SYNC_GRACE_MS,
    synced,
  });
  const view: AuthorizationView = {
    pod: (namespace, name) => {
      const pod = informers.caches.pods.get(name, namespace);
      if (!pod) return undefined;
      return {
        node: pod.spec?.nodeName,
        uid: pod.metadata?.uid,
        serviceAccount: pod.spec?.serviceAccountName,
      };
    },
    references: (node, key) => index.references(node, key),
    hasPodIn: (node, namespace) => index.hasPodIn(node, namespace),
  };
  const handleEdgeRequest = createEdgeRequestHandler({
    deps: {
      core,
      coordination,
      caches: informers.caches,
      log,
      unchangedWrites,
      ownWrites,
      streamEndpoints: options.streamEndpoints,
    },
    view,
    resync,
    denied,
    synced,
  });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    resync.stop();
    settle(false);
    await informers.stop();
  };
  return {
    denied,
    async start() {
      await informers.start();
      settle(!stopped);
      if (!stopped) log.info("edge controllers synced", { edgeNodes: index.edgeNodeNames().length });
    },
    stop,
    [Symbol.asyncDispose]: stop,
    handleEdgeRequest,
    onEdgeConnected: (node) => resync.onConnected(node),
    onEdgeDisconnected: (node) => resync.onDisconnected(node),
    isEdgeNode: (name) => index.isEdgeNode(name),
  };
}
