// What cloudcore may do in the cluster: exactly the API calls it makes (cloud/certs, cloud/controllers,
// cloud/http, cloud/stream), and the ServiceAccount and binding an in-cluster deployment runs under.
// Kept as data so `cloudcore init` and `cloudcore manifest` hand out the same rights.
import { KUBEEDGE_NAMESPACE } from "../certs/mod.ts";
import { DEVICES_GROUP, RULES_GROUP } from "../crds/mod.ts";

/** Name of the ClusterRole, its binding and the ServiceAccount. */
export const CLOUDCORE_NAME = "cloudcore";
export const CLOUDCORE_LABELS = {
  "app.kubernetes.io/name": "cloudcore",
  "app.kubernetes.io/part-of": "kedge",
};

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

/**
 * One rule per resource, each with the verbs some code path uses (the file that uses it in the comment).
 */
export const CLOUDCORE_RULES: readonly PolicyRule[] = [
  // certs/secret_store.ts ensureNamespace
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "create"] },
  // controllers/informers.ts (edge nodes), node_requests.ts (register, labels), http/app.ts (/node/{name})
  { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch", "create", "patch"] },
  // controllers/node_requests.ts (status reports), stream/coordinator.ts (kubelet endpoint port)
  { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
  // controllers/informers.ts, pod_requests.ts (the edge's final delete)
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "delete"] },
  // controllers/pod_requests.ts
  { apiGroups: [""], resources: ["pods/status"], verbs: ["patch"] },
  // controllers/informers.ts (sent to edges), stream/coordinator.ts (port assignments in kubeedge)
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update"] },
  // controllers/informers.ts (sent to edges), certs/ (casecret, cloudcoresecret, tokensecret)
  { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "update"] },
  // controllers/application_requests.ts (edges read the Services of their pods' namespaces, on request)
  { apiGroups: [""], resources: ["services"], verbs: ["get", "list"] },
  // controllers/token_requests.ts (projected service-account tokens of edge pods, bound to the pod)
  { apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] },
  // controllers/event_requests.ts (events reported by edges)
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  // controllers/node_requests.ts (node leases), stream/coordinator.ts (tunnel ownership)
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "delete"] },
  // http/token_review.ts (POST /token); stream/ authorizes the apiserver's kubelet calls (SubjectAccessReview)
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
  { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
  // devices/install_crds.ts: cloudcore installs or updates the device CRDs at start (create cannot be limited
  // to names; reading and updating can)
  { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], verbs: ["create"] },
  {
    apiGroups: ["apiextensions.k8s.io"],
    resources: ["customresourcedefinitions"],
    resourceNames: [
      `devicemodels.${DEVICES_GROUP}`,
      `devices.${DEVICES_GROUP}`,
      `rules.${RULES_GROUP}`,
      `ruleendpoints.${RULES_GROUP}`,
    ],
    verbs: ["get", "update"],
  },
  // devices/: sent to edges (informers), twins reported back into status (device_controller.ts)
  { apiGroups: [DEVICES_GROUP], resources: ["devices", "devicemodels"], verbs: ["get", "list", "watch"] },
  { apiGroups: [DEVICES_GROUP], resources: ["devices/status"], verbs: ["get", "patch", "update"] },
  // router/: rules and endpoints watched; Rule.status written with the object (no status subresource)
  { apiGroups: [RULES_GROUP], resources: ["rules", "ruleendpoints"], verbs: ["get", "list", "watch"] },
  { apiGroups: [RULES_GROUP], resources: ["rules"], verbs: ["patch"] },
];

export function namespaceObject(): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: KUBEEDGE_NAMESPACE } };
}

export function serviceAccountObject(): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: CLOUDCORE_NAME, namespace: KUBEEDGE_NAMESPACE, labels: CLOUDCORE_LABELS },
  };
}

export function clusterRoleObject(): Record<string, unknown> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: CLOUDCORE_NAME, labels: CLOUDCORE_LABELS },
    rules: CLOUDCORE_RULES.map((rule) => ({
      apiGroups: [...rule.apiGroups],
      resources: [...rule.resources],
      ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames] } : {}),
      verbs: [...rule.verbs],
    })),
  };
}

export function clusterRoleBindingObject(): Record<string, unknown> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: CLOUDCORE_NAME, labels: CLOUDCORE_LABELS },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CLOUDCORE_NAME },
    subjects: [{ kind: "ServiceAccount", name: CLOUDCORE_NAME, namespace: KUBEEDGE_NAMESPACE }],
  };
}
