/**
 * One list+watch per resource type for all edge nodes (client-node's ListWatch), started in order and
 * restarted after a failure. Lists keep the apiserver's JSON as it came (the typed client would drop
 * fields its models do not know, and the edge must get the whole object).
 */
import {
  type CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  type ObjectCache,
  type V1ConfigMap,
  type V1Node,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import { RAW } from "./api_calls.ts";
import type { WatchEvent } from "./downstream_sync.ts";
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

interface Entry {
  readonly resource: string;
  readonly informer: ReturnType<typeof makeInformer<KubernetesObject>>;
  starting: boolean;
  failed: boolean;
}

export const DEFAULT_INFORMER_RETRY_MS = 2_000;

export class Informers {
  readonly caches: Caches;
  readonly #entries: Entry[];
  readonly #log: Logger;
  readonly #retryMs: number;
  readonly #timers = new Set<{ id?: ReturnType<typeof setTimeout>; wake: () => void }>();
  #stopped = false;

  constructor(kc: KubeConfig, core: CoreV1Api, handlers: InformerHandlers, log: Logger, retryMs: number) {
    this.#log = log;
    this.#retryMs = retryMs;
    const nodes = this.#add<V1Node>(
      kc,
      "nodes",
      "/api/v1/nodes",
      "Node",
      async () => (await core.listNodeWithHttpInfo({ labelSelector: EDGE_NODE_SELECTOR }, RAW)).body.text(),
      handlers.node,
      EDGE_NODE_SELECTOR,
    );
    const pods = this.#add<V1Pod>(
      kc,
      "pods",
      "/api/v1/pods",
      "Pod",
      async () => (await core.listPodForAllNamespacesWithHttpInfo({}, RAW)).body.text(),
      handlers.pod,
    );
    const configMaps = this.#add<V1ConfigMap>(
      kc,
      "configmaps",
      "/api/v1/configmaps",
      "ConfigMap",
      async () => (await core.listConfigMapForAllNamespacesWithHttpInfo({}, RAW)).body.text(),
      handlers.configMap,
    );
    const secrets = this.#add<V1Secret>(
      kc,
      "secrets",
      "/api/v1/secrets",
      "Secret",
      async () => (await core.listSecretForAllNamespacesWithHttpInfo({}, RAW)).body.text(),
      handlers.secret,
    );
    // Nodes first, so pods listed next already know which nodes are edge nodes.
    this.#entries = [nodes, pods, configMaps, secrets].map((x) => x.entry);
    this.caches = { pods: pods.cache, configMaps: configMaps.cache, secrets: secrets.cache };
  }

  /** Lists and watches every resource, one after the other; resolves when all have listed. */
  async start(): Promise<void> {
    for (const entry of this.#entries) await this.#run(entry, false);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) {
      if (timer.id !== undefined) clearTimeout(timer.id);
      timer.wake();
    }
    this.#timers.clear();
    for (const entry of this.#entries) await entry.informer.stop();
  }

  #add<T extends KubernetesObject>(
    kc: KubeConfig,
    resource: string,
    path: string,
    kind: string,
    listText: () => Promise<string>,
    handler: (event: WatchEvent, object: T) => void,
    labelSelector?: string,
  ): { entry: Entry; cache: ObjectCache<T> } {
    const list = async (): Promise<KubernetesListObject<T>> => rawList<T>(await listText(), kind);
    const informer = makeInformer<T>(kc, path, list, labelSelector);
    const entry: Entry = {
      resource,
      informer: informer as Entry["informer"],
      starting: false,
      failed: false,
    };
    for (const event of ["add", "update", "delete"] as const) {
      informer.on(event, (object: T) => {
        try {
          handler(event, object);
        } catch (error) {
          this.#log.error("informer handler failed", { resource, event, error });
        }
      });
    }
    informer.on("error", (error?: unknown) => {
      entry.failed = true;
      if (this.#stopped) return;
      this.#log.warn("informer failed", { resource, error });
      if (!entry.starting) void this.#run(entry, true);
    });
    return { entry, cache: informer };
  }

  /** (Re)starts one informer until it lists and watches without an error, or stop() is called. */
  async #run(entry: Entry, delayFirst: boolean): Promise<void> {
    entry.starting = true;
    try {
      if (delayFirst) await this.#sleep();
      while (!this.#stopped) {
        entry.failed = false;
        await entry.informer.start();
        if (!entry.failed) return;
        await this.#sleep();
      }
    } finally {
      entry.starting = false;
    }
  }

  #sleep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer: { id?: ReturnType<typeof setTimeout>; wake: () => void } = {
        wake: () => {
          this.#timers.delete(timer);
          resolve();
        },
      };
      timer.id = setTimeout(timer.wake, this.#retryMs);
      this.#timers.add(timer);
    });
  }
}

/** Parses a list response as the apiserver wrote it, with kind/apiVersion on every item (lists omit them). */
function rawList<T extends KubernetesObject>(text: string, kind: string): KubernetesListObject<T> {
  const parsed = JSON.parse(text) as KubernetesListObject<T>;
  for (const item of parsed.items ?? []) {
    item.apiVersion ??= "v1";
    item.kind ??= kind;
  }
  return parsed;
}
