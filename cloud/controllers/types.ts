/**
 * The interfaces between the controllers and the rest of cloudcore: what they send through (the hub's
 * per-node delivery queue) and the few Kubernetes object shapes they read.
 */
import type { V1ConfigMap, V1Node, V1Pod, V1Secret } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";

/** One object for one node. The hub keeps one item per (node, uid): the newest resourceVersion wins, deletes win. */
export interface Delivery {
  readonly message: Message;
  /** The object's metadata.uid. */
  readonly uid: string;
  readonly resourceVersion?: string;
  readonly isDelete?: boolean;
}

/** The hub's per-node queue, keyed by uid, acked by the edge after its store commits. */
export interface Downstream {
  send(node: string, item: Delivery): void;
}

/** The object kinds the controllers send to edges. */
export type EdgeObjectKind = "pod" | "configmap" | "secret" | "node";

export type EdgeObject = V1Pod | V1ConfigMap | V1Secret | V1Node;

/** A ConfigMap or Secret a pod refers to, e.g. `configmap/default/app-config`. */
export type ReferenceKey = `${"configmap" | "secret"}/${string}/${string}`;

/** `<namespace>/<name>` of a namespaced object. */
export type ObjectKey = `${string}/${string}`;
