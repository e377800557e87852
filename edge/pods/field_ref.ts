/** The downward API: values of `fieldRef` paths for env and volumes. */
import type { Pod } from "./pod_schema.ts";

export interface PodContext {
  readonly pod: Pod;
  readonly uid: string;
  readonly namespace: string;
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podIP: string;
  /** The node's allocatable resources: a limit a container does not set, for the downward API. */
  readonly allocatable?: Readonly<Record<string, string>>;
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['([^']*)'\]$/;

/** The value of `fieldPath`, or throws RangeError for a path the downward API does not offer. */
export function fieldValue(ctx: PodContext, fieldPath: string): string {
  const meta = ctx.pod.metadata;
  switch (fieldPath) {
    case "metadata.name":
      return meta.name;
    case "metadata.namespace":
      return ctx.namespace;
    case "metadata.uid":
      return ctx.uid;
    case "metadata.labels":
      return formatMap(meta.labels);
    case "metadata.annotations":
      return formatMap(meta.annotations);
    case "spec.nodeName":
      return ctx.nodeName;
    case "spec.serviceAccountName":
      return ctx.pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return ctx.hostIP;
    case "status.podIP":
    case "status.podIPs":
      return ctx.podIP;
  }
  const m = SUBSCRIPT.exec(fieldPath);
  if (m) return (m[1] === "labels" ? meta.labels : meta.annotations)?.[m[2] ?? ""] ?? "";
  throw new RangeError(`Cannot resolve fieldRef ${fieldPath}: not supported`);
}

/** `key="value"` lines, sorted, as the kubelet writes labels and annotations files. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}=${JSON.stringify(map?.[k] ?? "")}`).join("\n");
}
