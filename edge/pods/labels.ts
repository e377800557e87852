/**
 * Labels and annotations the pod manager puts on CRI sandboxes and containers, named as the kubelet names
 * them. They are all the state needed to adopt running pods after a restart: which pod (UID, name,
 * namespace), which container of its spec (name, init or not, hash of the spec), and its restart count.
 */
import { createHash } from "node:crypto";
import type { ContainerSpec } from "./pod_schema.ts";

export const POD_UID = "io.kubernetes.pod.uid";
export const POD_NAME = "io.kubernetes.pod.name";
export const POD_NAMESPACE = "io.kubernetes.pod.namespace";
export const CONTAINER_NAME = "io.kubernetes.container.name";
/** Annotations (not labels: they are not used for selection). */
export const CONTAINER_HASH = "io.kubernetes.container.hash";
export const RESTART_COUNT = "io.kubernetes.container.restartCount";
export const CONTAINER_TYPE = "io.kedge.container.type";
export const GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod";
export const PRE_STOP = "io.kedge.container.preStop";
/** The node's file behind the container's terminationMessagePath, read when the container exits. */
export const TERMINATION_LOG = "io.kedge.container.terminationLog";
export const TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy";
/** Marks what this manager created, so containers of other CRI users are never touched. */
export const MANAGED_BY = "io.kedge.managed-by";
export const MANAGER = "kedge-edged";

/** Ephemeral containers are the ones `kubectl debug` adds to a running pod: started once, never restarted. */
export type ContainerType = "init" | "regular" | "ephemeral";

/** A stable hash of a container's spec: a different hash means the running container is out of date. */
export function hashContainer(spec: ContainerSpec): string {
  return createHash("sha256").update(stableJson(spec)).digest("hex").slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : 1
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
