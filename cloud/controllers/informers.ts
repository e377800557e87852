/**
 * One list+watch per resource type for all edge nodes (cloud/kube's Reflector), started in order. Lists keep
 * the apiserver's JSON as it came (the typed client would drop fields its models do not know, and the edge
 * must get the whole object).
 */
import type {
  CoreV1Api,
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ObjectCache,
  V1ConfigMap,
  V1Node,
  V1Pod,
  V1Secret,
} from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import { Reflector, reflectorsFor, type ReflectorTiming, type WatchEvent } from "../kube/mod.ts";
import { RAW } from "./api_calls.ts";
import { EDGE_NODE_SELECTOR } from "./node_labels.ts";

export interface InformerHandlers {
  node(event: WatchEvent, node: V1Node): void;
  pod(event: WatchEvent, pod: V1Pod): void;
  configMap(event: WatchEvent, configMap: V1ConfigMap): void;
  secret(event: WatchEvent, secret: V1Secret): void;
}

export interface Caches {
  readonly pods: ObjectCache<V1Pod>;
  readonly configMaps: ObjectCache<V1ConfigMap>;
  readonly secrets: ObjectCache<V1Secret>;
}

export class Informers {
  readonly caches: Caches;
  readonly #reflectors: Reflector<KubernetesObject>[];

  constructor(
    kc: KubeConfig,
    core: CoreV1Api,
    handlers: InformerHandlers,
    deps: { log: Logger; registry: Registry; timing?: Partial<ReflectorTiming> },
  ) {
    const make = reflectorsFor(kc, deps);
    const nodes = make<V1Node>({
      resource: "nodes",
      path: "/api/v1/nodes",
      labelSelector: EDGE_NODE_SELECTOR,
      list: async () =>
        rawList(
          await (await core.listNodeWithHttpInfo({ labelSelector: EDGE_NODE_SELECTOR }, RAW)).body.text(),
          "Node",
        ),
      handler: handlers.node,
    });
    const pods = make<V1Pod>({
      resource: "pods",
      path: "/api/v1/pods",
      list: async () =>
        rawList(await (await core.listPodForAllNamespacesWithHttpInfo({}, RAW)).body.text(), "Pod"),
      handler: handlers.pod,
    });
    const configMaps = make<V1ConfigMap>({
      resource: "configmaps",
      path: "/api/v1/configmaps",
      list: async () =>
        rawList(
          await (await core.listConfigMapForAllNamespacesWithHttpInfo({}, RAW)).body.text(),
          "ConfigMap",
        ),
      handler: handlers.configMap,
    });
    const secrets = make<V1Secret>({
      resource: "secrets",
      path: "/api/v1/secrets",
      list: async () =>
        rawList(await (await core.listSecretForAllNamespacesWithHttpInfo({}, RAW)).body.text(), "Secret"),
      handler: handlers.secret,
    });
    // Nodes first, so pods listed next already know which nodes are edge nodes.
    this.#reflectors = [nodes, pods, configMaps, secrets] as Reflector<KubernetesObject>[];
    this.caches = { pods: pods.store, configMaps: configMaps.store, secrets: secrets.store };
  }

  /** Lists every resource, one after the other, then keeps each watched; resolves when all have listed. */
  async start(): Promise<void> {
    for (const reflector of this.#reflectors) await reflector.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }
}

/** Parses a list response as the apiserver wrote it, with kind/apiVersion on every item (lists omit them). */
function rawList<T extends KubernetesObject>(text: string, kind: string): KubernetesListObject<T> {
  return withKinds(JSON.parse(text) as KubernetesListObject<T>, kind, "v1");
}

/** Sets kind and apiVersion on every item that lacks them; returns the list. */
export function withKinds<T extends KubernetesObject>(
  list: KubernetesListObject<T>,
  kind: string,
  apiVersion: string,
): KubernetesListObject<T> {
  for (const item of list.items ?? []) {
    item.apiVersion ??= apiVersion;
    item.kind ??= kind;
  }
  return list;
}
