// The store seen by the pod manager: a PodSource that replays this node's pods from SQLite at start
// (so pods come back with the cloud away) and pushes later changes, and an ObjectLookup for the
// ConfigMaps, Secrets and service-account tokens that volumes and env read.
import type { EdgeStore, StoredObject } from "../store/mod.ts";
import {
  type BoundTokenRequest,
  type ConfigMapData,
  type ObjectKind,
  type ObjectLookup,
  parsePod,
  type PodSource,
  type PodUpdate,
  type SecretData,
  type ServiceInfo,
} from "../pods/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { ObjectFetcher } from "./object_query.ts";
import type { ServiceAccountTokens } from "./service_account_tokens.ts";
import type { ServiceLister } from "./service_lister.ts";

export type ChangeOp = "upsert" | "delete";

export class StoreObjects implements PodSource, ObjectLookup {
  readonly name = "store";
  #deliver?: (update: PodUpdate) => void;
  readonly #listeners = new Set<(kind: ObjectKind, namespace: string, name: string) => void>();
  #fetch?: ObjectFetcher;
  #tokens?: ServiceAccountTokens;
  #services?: ServiceLister;

  constructor(private readonly store: EdgeStore, private readonly log: Logger) {}

  start(deliver: (update: PodUpdate) => void, signal: AbortSignal): Promise<void> {
    this.#deliver = deliver;
    signal.addEventListener("abort", () => this.#deliver = undefined, { once: true });
    for (const stored of this.store.list("pod")) this.#pushPod("upsert", stored);
    return Promise.resolve();
  }

  /** How a ConfigMap or Secret the store lacks is asked of the cloud (edgecore sets it once connected). */
  set fetcher(fetch: ObjectFetcher) {
    this.#fetch = fetch;
  }

  /** Where service-account tokens come from (edgecore sets it once its hub exists). */
  set tokens(tokens: ServiceAccountTokens) {
    this.#tokens = tokens;
  }

  /** Where the Services for containers' service variables come from (edgecore sets it). */
  set serviceLister(lister: ServiceLister) {
    this.#services = lister;
  }

  services(namespace: string, enableServiceLinks: boolean): Promise<readonly ServiceInfo[]> {
    return this.#services?.services(namespace, enableServiceLinks) ?? Promise.resolve([]);
  }

  serviceAccountToken(request: BoundTokenRequest): Promise<{ token: string } | undefined> {
    return this.#tokens?.get(request) ?? Promise.resolve(undefined);
  }

  configMap(namespace: string, name: string): Promise<ConfigMapData | undefined> {
    return this.#lookup<ConfigMapData>("configmap", namespace, name);
  }

  secret(namespace: string, name: string): Promise<SecretData | undefined> {
    return this.#lookup<SecretData>("secret", namespace, name);
  }

  async #lookup<T>(type: "configmap" | "secret", namespace: string, name: string): Promise<T | undefined> {
    const key = `${namespace}/${type}/${name}`;
    const held = this.store.get<T>(key)?.value;
    if (held !== undefined || !this.#fetch) return held;
    await this.#fetch(type, namespace, name);
    return this.store.get<T>(key)?.value;
  }

  watch(listener: (kind: ObjectKind, namespace: string, name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called after a change is committed to the store. */
  changed(op: ChangeOp, stored: StoredObject): void {
    if (stored.type === "pod") {
      if (op === "delete") this.#tokens?.forgetPod(stored.uid);
      return this.#pushPod(op, stored);
    }
    const kind: ObjectKind | undefined = stored.type === "configmap"
      ? "ConfigMap"
      : stored.type === "secret"
      ? "Secret"
      : undefined;
    if (!kind) return;
    const [namespace = "", , name = ""] = stored.key.split("/");
    for (const listener of this.#listeners) listener(kind, namespace, name);
  }

  #pushPod(op: ChangeOp, stored: StoredObject): void {
    let pod;
    try {
      pod = parsePod(stored.value);
    } catch (error) {
      this.log.warn("stored pod unreadable", { key: stored.key, error });
      return;
    }
    this.#deliver?.({ op: op === "delete" ? "delete" : "update", pod });
  }
}
