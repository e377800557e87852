/**
 * Informer events -> deliveries. Pods bound to an edge node go to that node; ConfigMaps and Secrets go to
 * a node while one of its pods refers to them; an edge node gets its own Node. Every event touches only the
 * objects it concerns (the index keeps pods by node and references by object).
 */
import type { V1ConfigMap, V1Node, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Counter } from "../../lib/metrics.ts";
import type { WatchEvent } from "../kube/mod.ts";
import { deleteDelivery, type ObjectRef, refOf, upsertDelivery, type UpsertOperation } from "./deliveries.ts";
import type { EdgeIndex, PodEntry } from "./edge_index.ts";
import { isEdgeNode } from "./node_labels.ts";
import { onlyStatusChanged, type OwnStatusWrites } from "./own_writes.ts";
import { parseReferenceKey, podReferences, referenceKey } from "./pod_references.ts";
import type { Delivery, Downstream, EdgeObject, EdgeObjectKind, ObjectKey, ReferenceKey } from "./types.ts";

export type { WatchEvent } from "../kube/mod.ts";

/** Reads ConfigMaps and Secrets from the informer caches. */
export interface ReferencedObjects {
  get(type: "configmap" | "secret", namespace: string, name: string): V1ConfigMap | V1Secret | undefined;
}

/** Status writes made for edges, whose watch events are not sent back (counted in `skipped`). */
export interface StatusEchoes {
  readonly writes: OwnStatusWrites;
  readonly skipped: Counter;
}

/** An object a node should hold, for resync. */
export interface DesiredObject {
  readonly ref: ObjectRef;
  readonly object: EdgeObject;
}

export class DownstreamSync {
  readonly #index: EdgeIndex;
  readonly #downstream: Downstream;
  readonly #objects: ReferencedObjects;
  readonly #log: Logger;
  readonly #echoes: StatusEchoes | undefined;

  constructor(
    index: EdgeIndex,
    downstream: Downstream,
    objects: ReferencedObjects,
    log: Logger,
    echoes?: StatusEchoes,
  ) {
    this.#index = index;
    this.#downstream = downstream;
    this.#objects = objects;
    this.#log = log;
    this.#echoes = echoes;
  }

  onNode(event: WatchEvent, node: V1Node): void {
    const name = node.metadata?.name;
    if (!name) return;
    const previous = this.#index.edgeNode(name);
    if (event === "delete" || !isEdgeNode(node)) {
      this.#echoes?.writes.forget(`node/${name}`);
      if (previous) this.#detach(name, event === "delete" ? node : previous);
      return;
    }
    if (previous && previous.metadata?.uid !== node.metadata?.uid) this.#sendDelete(name, "node", previous);
    this.#index.setEdgeNode(node);
    // Upstream sends "update" for a new Node as well as a changed one.
    if (!previous || !this.#isEcho(`node/${name}`, previous, node)) {
      this.#sendUpsert(name, "node", node, "update");
    }
    if (!previous) this.#attach(name);
  }

  onPod(event: WatchEvent, pod: V1Pod): void {
    const key = podKey(pod);
    const uid = pod.metadata?.uid;
    if (!key || !uid) return;
    const previous = this.#index.pod(key);
    if (event === "delete") {
      this.#echoes?.writes.forget(key);
      if (previous?.uid === uid) this.#removePod(key, previous, pod);
      return;
    }
    const node = pod.spec?.nodeName || undefined;
    const same = previous !== undefined && previous.uid === uid && previous.node === node;
    if (previous && !same) this.#removePod(key, previous, previous.pod);
    if (!node) return;
    const entry: PodEntry = { uid, node, pod, refs: podReferences(pod) };
    this.#index.setPod(key, entry);
    if (!this.#index.isEdgeNode(node)) return;
    if (same) {
      const gone = this.#index.removeRefs(node, difference(previous.refs, entry.refs));
      const added = this.#index.addRefs(node, difference(entry.refs, previous.refs));
      this.#sendReferenced(node, added, "insert");
      if (!this.#isEcho(key, previous.pod, pod, "pod_status")) this.#sendUpsert(node, "pod", pod, "update");
      this.#deleteReferenced(node, gone);
    } else {
      this.#sendReferenced(node, this.#index.addRefs(node, entry.refs), "insert");
      this.#sendUpsert(node, "pod", pod, "insert");
    }
  }

  onReferenced(type: "configmap" | "secret", event: WatchEvent, object: V1ConfigMap | V1Secret): void {
    const { namespace, name } = object.metadata ?? {};
    if (!namespace || !name) return;
    for (const node of this.#index.nodesReferencing(referenceKey(type, namespace, name))) {
      if (event === "delete") this.#sendDelete(node, type, object);
      else this.#sendUpsert(node, type, object, event === "add" ? "insert" : "update");
    }
  }

  /** Everything `node` should hold now: its Node, its pods, and the existing objects they refer to. */
  desired(node: string): DesiredObject[] {
    const nodeObject = this.#index.edgeNode(node);
    if (!nodeObject) return [];
    const out: DesiredObject[] = [];
    const push = (kind: EdgeObjectKind, object: EdgeObject | undefined) => {
      const ref = object ? refOf(kind, object) : undefined;
      if (ref && object) out.push({ ref, object });
    };
    push("node", nodeObject);
    for (const entry of this.#index.podsOn(node)) push("pod", entry.pod);
    for (const key of this.#index.refsOf(node)) {
      const { type, namespace, name } = parseReferenceKey(key);
      push(type, this.#objects.get(type, namespace, name));
    }
    return out;
  }

  /** Hands one delivery to the hub; a refusal (full queue) is logged here and resync repairs it. */
  send(node: string, delivery: Delivery): void {
    try {
      this.#downstream.send(node, delivery);
    } catch (error) {
      this.#log.error("delivery refused", {
        node,
        operation: delivery.message.route.operation,
        resource: delivery.message.route.resource,
        error,
      });
    }
  }

  /** The edge's own status write coming back: it holds this version already (from its patch's reply). */
  #isEcho(key: string, previous: V1Pod | V1Node, next: V1Pod | V1Node, kind = "node_status"): boolean {
    const echoes = this.#echoes;
    if (!echoes?.writes.take(key, next.metadata?.resourceVersion)) return false;
    if (!onlyStatusChanged(previous, next)) return false;
    echoes.skipped.inc({ kind });
    return true;
  }

  #attach(node: string): void {
    for (const entry of this.#index.podsOn(node)) {
      this.#sendReferenced(node, this.#index.addRefs(node, entry.refs), "insert");
      this.#sendUpsert(node, "pod", entry.pod, "insert");
    }
  }

  /** The node is gone or no longer an edge node: it should hold nothing of ours. */
  #detach(node: string, last: V1Node): void {
    for (const entry of this.#index.podsOn(node)) this.#sendDelete(node, "pod", entry.pod);
    this.#deleteReferenced(node, this.#index.removeEdgeNode(node));
    this.#sendDelete(node, "node", last);
  }

  #removePod(key: ObjectKey, entry: PodEntry, last: V1Pod): void {
    this.#index.removePod(key);
    if (!this.#index.isEdgeNode(entry.node)) return;
    this.#sendDelete(entry.node, "pod", last);
    this.#deleteReferenced(entry.node, this.#index.removeRefs(entry.node, entry.refs));
  }

  #sendReferenced(node: string, keys: readonly ReferenceKey[], operation: UpsertOperation): void {
    for (const key of keys) {
      const { type, namespace, name } = parseReferenceKey(key);
      const object = this.#objects.get(type, namespace, name);
      if (object) this.#sendUpsert(node, type, object, operation);
    }
  }

  #deleteReferenced(node: string, keys: readonly ReferenceKey[]): void {
    for (const key of keys) {
      const { type, namespace, name } = parseReferenceKey(key);
      const object = this.#objects.get(type, namespace, name);
      if (object) this.#sendDelete(node, type, object);
    }
  }

  #sendUpsert(node: string, kind: EdgeObjectKind, object: EdgeObject, operation: UpsertOperation): void {
    const delivery = upsertDelivery(kind, object, operation);
    if (delivery) this.send(node, delivery);
  }

  #sendDelete(node: string, kind: EdgeObjectKind, object: EdgeObject): void {
    const ref = refOf(kind, object);
    if (ref) this.send(node, deleteDelivery(ref, object));
  }
}

function podKey(pod: V1Pod): ObjectKey | undefined {
  const { namespace, name } = pod.metadata ?? {};
  return namespace && name ? `${namespace}/${name}` : undefined;
}

function difference<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): T[] {
  return [...a].filter((x) => !b.has(x));
}
