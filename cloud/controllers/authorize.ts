/**
 * Node authorization for every request an edge makes, decided from the informer caches before anything
 * reaches the apiserver. Node X may touch only: Node X and its status, Lease X in kube-node-lease, pods
 * bound to X (status, delete), events about Node X or its pods, the ConfigMaps and Secrets that pods
 * bound to X refer to, and tokens of a service account bound to a pod of X that runs as it (the apiserver's
 * node authorizer and NodeRestriction say the same). A body must not name another object than its resource
 * does.
 */
import { contentObject, type EdgeRequest, isPlainObject, NODE_LEASE_NAMESPACE } from "./edge_request.ts";
import { referenceKey } from "./pod_references.ts";
import { readTokenRequestSpec } from "./token_requests.ts";
import type { ReferenceKey } from "./types.ts";

/** Metric label values: a closed set. */
export type DenyReason =
  | "other_node"
  | "other_lease"
  | "pod_not_bound"
  | "not_referenced"
  | "event_not_own_object"
  | "body_mismatch"
  | "token_not_bound"
  | "no_pod_in_namespace"
  | "unsupported";

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: DenyReason; readonly detail: string };

/** What authorization reads from the caches. */
export interface AuthorizationView {
  /** spec.nodeName and uid of a cached pod, or undefined when the cloud has no such pod. */
  pod(namespace: string, name: string): { node?: string; uid?: string; serviceAccount?: string } | undefined;
  /** True while a pod bound to edge node `node` refers to the object. */
  references(node: string, key: ReferenceKey): boolean;
  /** True while a pod of namespace `namespace` is bound to node `node`. */
  hasPodIn(node: string, namespace: string): boolean;
}

const ALLOW: Decision = { allowed: true };

function deny(reason: DenyReason, detail: string): Decision {
  return { allowed: false, reason, detail };
}

/** Decides whether `node` may make `request` with `content`. Throws EdgeRequestError for unreadable content. */
export function authorize(
  node: string,
  request: EdgeRequest,
  content: unknown,
  view: AuthorizationView,
): Decision {
  switch (request.kind) {
    case "registerNode":
      if (request.name !== node) {
        return deny("other_node", `node ${node} cannot register node ${request.name}`);
      }
      return sameName(contentObject(content, "node"), node, undefined);
    case "patchNodeStatus":
    case "syncReport":
      return request.name === node
        ? ALLOW
        : deny("other_node", `node ${node} cannot act for node ${request.name}`);
    case "queryLease":
      return request.namespace === NODE_LEASE_NAMESPACE && request.name === node
        ? ALLOW
        : deny("other_lease", `node ${node} may read only ${NODE_LEASE_NAMESPACE}/${node}`);
    case "renewLease": {
      if (request.namespace !== NODE_LEASE_NAMESPACE || request.name !== node) {
        return deny("other_lease", `node ${node} may renew only ${NODE_LEASE_NAMESPACE}/${node}`);
      }
      const lease = contentObject(content, "lease");
      const holder = isPlainObject(lease.spec) ? lease.spec.holderIdentity : undefined;
      if (holder !== undefined && holder !== node) {
        return deny("body_mismatch", `lease holderIdentity is not ${node}`);
      }
      return sameName(lease, node, NODE_LEASE_NAMESPACE);
    }
    case "patchPodStatus":
    case "deletePod":
      return view.pod(request.namespace, request.name)?.node === node
        ? ALLOW
        : deny("pod_not_bound", `pod ${request.namespace}/${request.name} is not bound to node ${node}`);
    case "createEvent": {
      const event = contentObject(content, "event");
      const same = sameName(event, request.name, request.namespace);
      if (!same.allowed) return same;
      return eventAboutNode(node, request.namespace, event, view);
    }
    case "serviceAccountToken":
      return tokenBoundToOwnPod(node, request.namespace, request.name, content, view);
    case "query":
      return view.references(node, referenceKey(request.type, request.namespace, request.name))
        ? ALLOW
        : deny(
          "not_referenced",
          `no pod bound to node ${node} refers to ${request.type} ${request.namespace}/${request.name}`,
        );
  }
}

/**
 * Reading Services (get or list in one namespace): the master Service default/kubernetes always (the kubelet
 * sets its variables in every pod), otherwise only in a namespace where a pod is bound to the node. Stricter
 * than Kubernetes: the node authorizer has no opinion on Services and RBAC's system:node role lets a kubelet
 * get, list and watch every Service of the cluster (it lists them all for these variables); an edge is less
 * trusted, and needs no more than the Services of its pods' namespaces.
 */
export function authorizeServiceRead(
  node: string,
  namespace: string,
  name: string,
  view: AuthorizationView,
): Decision {
  if (namespace === "default" && name === "kubernetes") return ALLOW;
  return view.hasPodIn(node, namespace)
    ? ALLOW
    : deny("no_pod_in_namespace", `no pod bound to node ${node} is in namespace ${namespace}`);
}

/** The body's metadata, where present, names the same object as the resource. */
function sameName(body: Record<string, unknown>, name: string, namespace: string | undefined): Decision {
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name !== undefined && meta.name !== name) {
    return deny("body_mismatch", `content names ${String(meta.name)}, the resource names ${name}`);
  }
  if (namespace !== undefined && meta.namespace !== undefined && meta.namespace !== namespace) {
    return deny("body_mismatch", `content is in namespace ${String(meta.namespace)}, not ${namespace}`);
  }
  return ALLOW;
}

/** The token is bound (by kind, name and uid) to a pod of `node` in the namespace, running as the account. */
function tokenBoundToOwnPod(
  node: string,
  namespace: string,
  serviceAccount: string,
  content: unknown,
  view: AuthorizationView,
): Decision {
  const ref = readTokenRequestSpec(content).boundObjectRef;
  const what = `a token of ${namespace}/${serviceAccount}`;
  if (ref?.kind !== "Pod" || typeof ref.name !== "string" || typeof ref.uid !== "string") {
    return deny("token_not_bound", `${what} must be bound to a pod (boundObjectRef kind Pod, name, uid)`);
  }
  const pod = view.pod(namespace, ref.name);
  if (pod?.node !== node || pod.uid !== ref.uid) {
    return deny(
      "token_not_bound",
      `${what} is bound to pod ${namespace}/${ref.name}, not a pod of node ${node}`,
    );
  }
  if ((pod.serviceAccount ?? "default") !== serviceAccount) {
    return deny("token_not_bound", `pod ${namespace}/${ref.name} does not run as ${serviceAccount}`);
  }
  return ALLOW;
}

function eventAboutNode(
  node: string,
  namespace: string,
  event: Record<string, unknown>,
  view: AuthorizationView,
): Decision {
  const about = isPlainObject(event.involvedObject) ? event.involvedObject : {};
  const kind = about.kind;
  const name = typeof about.name === "string" ? about.name : "";
  if (kind === "Node" && name === node) return ALLOW;
  if (kind === "Pod") {
    const podNamespace = typeof about.namespace === "string" ? about.namespace : namespace;
    const pod = view.pod(podNamespace, name);
    const uidMatches = about.uid === undefined || about.uid === pod?.uid;
    if (pod?.node === node && uidMatches && podNamespace === namespace) return ALLOW;
  }
  return deny("event_not_own_object", `an event from node ${node} must be about node ${node} or its pods`);
}
