/**
 * The ConfigMaps and Secrets a pod needs on its node: volumes (configMap, secret, projected sources),
 * env valueFrom and envFrom of every container kind, and imagePullSecrets (the edge pulls the images).
 */
import type { V1Container, V1EphemeralContainer, V1Pod } from "@kubernetes/client-node";
import type { ReferenceKey } from "./types.ts";

export function referenceKey(type: "configmap" | "secret", namespace: string, name: string): ReferenceKey {
  return `${type}/${namespace}/${name}`;
}

/** Splits a key made by {@link referenceKey}; names and namespaces never contain '/'. */
export function parseReferenceKey(
  key: ReferenceKey,
): { type: "configmap" | "secret"; namespace: string; name: string } {
  const [type, namespace = "", name = ""] = key.split("/");
  return { type: type === "secret" ? "secret" : "configmap", namespace, name };
}

/** Every ConfigMap and Secret `pod` refers to, in its own namespace. */
export function podReferences(pod: V1Pod): Set<ReferenceKey> {
  const refs = new Set<ReferenceKey>();
  const namespace = pod.metadata?.namespace;
  const spec = pod.spec;
  if (!namespace || !spec) return refs;
  const add = (type: "configmap" | "secret", name: string | undefined) => {
    if (name) refs.add(referenceKey(type, namespace, name));
  };
  for (const volume of spec.volumes ?? []) {
    add("configmap", volume.configMap?.name);
    add("secret", volume.secret?.secretName);
    for (const source of volume.projected?.sources ?? []) {
      add("configmap", source.configMap?.name);
      add("secret", source.secret?.name);
    }
  }
  const containers: (V1Container | V1EphemeralContainer)[] = [
    ...(spec.initContainers ?? []),
    ...spec.containers,
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const container of containers) {
    for (const env of container.env ?? []) {
      add("configmap", env.valueFrom?.configMapKeyRef?.name);
      add("secret", env.valueFrom?.secretKeyRef?.name);
    }
    for (const from of container.envFrom ?? []) {
      add("configmap", from.configMapRef?.name);
      add("secret", from.secretRef?.name);
    }
  }
  for (const pull of spec.imagePullSecrets ?? []) add("secret", pull.name);
  return refs;
}
