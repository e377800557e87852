/**
 * A pod's CRI PodSandboxConfig: metadata, labels, host network or CNI, ports, log folder, DNS, the pod's
 * user, group and supplemental groups (fsGroup first).
 */
import { join } from "node:path";
import type { PodSandboxConfig } from "../cri/mod.ts";
import { supplementalGroupsOf } from "./container_config.ts";
import type { PodContext } from "./field_ref.ts";
import { namespaceOptionsOf } from "./pod_namespaces.ts";
import { GRACE_PERIOD, MANAGED_BY, MANAGER, POD_NAME, POD_NAMESPACE, POD_UID } from "./labels.ts";

export function podLogDir(logRoot: string, ctx: PodContext): string {
  return join(logRoot, `${ctx.namespace}_${ctx.pod.metadata.name}_${ctx.uid}`);
}

export function buildSandboxConfig(
  ctx: PodContext,
  attempt: number,
  logRoot: string,
  gracePeriodSeconds: number,
): PodSandboxConfig {
  const spec = ctx.pod.spec;
  const hostNetwork = spec.hostNetwork ?? false;
  const ports = [...(spec.initContainers ?? []), ...spec.containers].flatMap((c) => c.ports ?? [])
    .filter((p) => p.hostPort);
  return {
    metadata: { name: ctx.pod.metadata.name, uid: ctx.uid, namespace: ctx.namespace, attempt },
    // A host-network sandbox shares the node's UTS namespace: it must not set a hostname.
    hostname: hostNetwork ? "" : (spec.hostname ?? ctx.pod.metadata.name).slice(0, 63),
    logDirectory: podLogDir(logRoot, ctx),
    dnsConfig: spec.dnsConfig
      ? { servers: spec.dnsConfig.nameservers ?? [], searches: spec.dnsConfig.searches ?? [] }
      : undefined,
    portMappings: ports.map((p) => ({
      protocol: p.protocol ?? "TCP",
      containerPort: p.containerPort,
      hostPort: p.hostPort ?? 0,
      hostIp: p.hostIP ?? "",
    })),
    labels: {
      ...(ctx.pod.metadata.labels ?? {}),
      [POD_UID]: ctx.uid,
      [POD_NAME]: ctx.pod.metadata.name,
      [POD_NAMESPACE]: ctx.namespace,
      [MANAGED_BY]: MANAGER,
    },
    annotations: { ...(ctx.pod.metadata.annotations ?? {}), [GRACE_PERIOD]: String(gracePeriodSeconds) },
    linux: {
      securityContext: {
        namespaceOptions: namespaceOptionsOf(spec),
        runAsUser: spec.securityContext?.runAsUser === undefined
          ? undefined
          : { value: spec.securityContext.runAsUser },
        runAsGroup: spec.securityContext?.runAsGroup === undefined
          ? undefined
          : { value: spec.securityContext.runAsGroup },
        supplementalGroups: supplementalGroupsOf(spec),
        // As the kubelet: the sandbox is privileged when any container is, or the runtime refuses that
        // container ("no privileged container allowed in sandbox").
        privileged: [...(spec.initContainers ?? []), ...spec.containers].some((c) =>
          c.securityContext?.privileged
        ),
      },
      sysctls: Object.fromEntries((spec.securityContext?.sysctls ?? []).map((s) => [s.name, s.value])),
    },
  };
}
