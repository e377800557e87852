/**
 * Object messages for the edge, as upstream's edgecontroller writes them: source "edgecontroller", group
 * "resource", resource `<ns>/<type>/<name>` (`null/node/<name>` for Nodes), header.resourceversion = the
 * object's resourceVersion, content = the object.
 */
import { buildResource, isResourceVersion, newMessage } from "../../lib/protocol/mod.ts";
import type { Delivery, EdgeObject, EdgeObjectKind } from "./types.ts";

export const EDGE_CONTROLLER_SOURCE = "edgecontroller";

export type UpsertOperation = "insert" | "update";

/** Identifies an object on the edge when the object itself may be gone. */
export interface ObjectRef {
  readonly kind: EdgeObjectKind;
  /** Ignored for Nodes (cluster-scoped). */
  readonly namespace?: string;
  readonly name: string;
  readonly uid: string;
}

/** The wire resource for an object: `<ns>/<kind>/<name>`, or `null/node/<name>`. Throws RangeError. */
export function objectResource(ref: Pick<ObjectRef, "kind" | "namespace" | "name">): string {
  const namespace = ref.kind === "node" ? null : ref.namespace ?? "";
  return buildResource({ namespace, type: ref.kind, name: ref.name });
}

export function refOf(kind: EdgeObjectKind, object: EdgeObject): ObjectRef | undefined {
  const { name, namespace, uid } = object.metadata ?? {};
  if (!name || !uid || (kind !== "node" && !namespace)) return undefined;
  return { kind, name, uid, ...(namespace ? { namespace } : {}) };
}

/** An insert or update of `object`; undefined for an object without name or uid (never from an apiserver). */
export function upsertDelivery(
  kind: EdgeObjectKind,
  object: EdgeObject,
  operation: UpsertOperation,
): Delivery | undefined {
  const ref = refOf(kind, object);
  if (!ref) return undefined;
  const rv = object.metadata?.resourceVersion;
  const resourceVersion = rv && isResourceVersion(rv) ? rv : undefined;
  const message = newMessage({
    source: EDGE_CONTROLLER_SOURCE,
    group: "resource",
    operation,
    resource: objectResource(ref),
    content: withTypeMeta(kind, object),
    ...(resourceVersion ? { resourceVersion } : {}),
  });
  return { message, uid: ref.uid, ...(resourceVersion ? { resourceVersion } : {}) };
}

/**
 * A delete of the object `ref` names. Content is the last known object, or just its identity when the
 * cloud no longer has it (the edge deletes by resource and uid).
 */
export function deleteDelivery(ref: ObjectRef, last?: EdgeObject): Delivery {
  const content = last ? withTypeMeta(ref.kind, last) : {
    apiVersion: "v1",
    kind: KINDS[ref.kind],
    metadata: { name: ref.name, uid: ref.uid, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
  };
  // The last known resourceVersion lets the hub tell a stale update (older) from the object coming back
  // to this node unchanged (the same version).
  const rv = last?.metadata?.resourceVersion;
  const resourceVersion = rv && isResourceVersion(rv) ? rv : undefined;
  const message = newMessage({
    source: EDGE_CONTROLLER_SOURCE,
    group: "resource",
    operation: "delete",
    resource: objectResource(ref),
    content,
    ...(resourceVersion ? { resourceVersion } : {}),
  });
  return { message, uid: ref.uid, isDelete: true, ...(resourceVersion ? { resourceVersion } : {}) };
}

const KINDS: Record<EdgeObjectKind, string> = {
  pod: "Pod",
  configmap: "ConfigMap",
  secret: "Secret",
  node: "Node",
};

// Objects from a list carry no kind/apiVersion (watch events do); the edge gets them the same either way.
function withTypeMeta(kind: EdgeObjectKind, object: EdgeObject): EdgeObject {
  if (object.kind && object.apiVersion) return object;
  return { ...object, apiVersion: "v1", kind: KINDS[kind] };
}
