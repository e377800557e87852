// What the MetaServer serves: core/v1 resources kept in the edge store, by their URL name.

export interface MetaResource {
  /** URL name: pods. */
  readonly name: string;
  readonly singular: string;
  /** The store's type: pod. */
  readonly type: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: string[];
}

export const META_RESOURCES: readonly MetaResource[] = [
  { name: "pods", singular: "pod", type: "pod", kind: "Pod", namespaced: true, shortNames: ["po"] },
  {
    name: "configmaps",
    singular: "configmap",
    type: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
  },
  { name: "secrets", singular: "secret", type: "secret", kind: "Secret", namespaced: true, shortNames: [] },
  {
    name: "services",
    singular: "service",
    type: "service",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
  },
  {
    name: "endpoints",
    singular: "endpoints",
    type: "endpoints",
    kind: "Endpoints",
    namespaced: true,
    shortNames: ["ep"],
  },
  { name: "nodes", singular: "node", type: "node", kind: "Node", namespaced: false, shortNames: ["no"] },
];

export const BY_NAME = new Map(META_RESOURCES.map((r) => [r.name, r]));
export const BY_TYPE = new Map(META_RESOURCES.map((r) => [r.type, r]));

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

export function apiVersions(address: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: address }],
  };
}

export function coreResourceList(): unknown {
  return {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: META_RESOURCES.map((r) => ({
      name: r.name,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    })),
  };
}

export function status(code: number, reason: string, message: string): unknown {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}
