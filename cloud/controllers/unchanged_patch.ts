/**
 * Whether a status patch would change nothing on the object as the informer cache holds it. An edge
 * re-sends each pod's status every minute (as the kubelet's status manager resyncs); writing those to the
 * apiserver costs a write and a watch event per pod for nothing. The kubelet skips them the same way: it
 * compares with the pod its informer holds.
 *
 * Conservative by design: a false "unchanged" would lose a status, a false "changed" only costs a write.
 * Objects compare by the patch's keys (a strategic merge leaves other keys alone; `null` deletes). The
 * PodStatus lists with a merge key (conditions by type, container statuses by name, IPs by ip) compare
 * element by element with the cached element of the same key, the rest is kept by the merge; any other list
 * must equal the cached list exactly, since the patch replaces it.
 */
import { isPlainObject } from "./edge_request.ts";

export function statusPatchChangesNothing(
  patch: Record<string, unknown>,
  current: { metadata?: { uid?: string; resourceVersion?: string }; status?: unknown },
): boolean {
  return firstChange(patch, current) === undefined;
}

/** Where the patch would change the object first (a path such as `status.phase`), or undefined. */
export function firstChange(
  patch: Record<string, unknown>,
  current: { metadata?: { uid?: string; resourceVersion?: string }; status?: unknown },
): string | undefined {
  const metadata = isPlainObject(patch.metadata) ? patch.metadata : {};
  // Preconditions the apiserver would check: let it answer when they do not hold here.
  if (metadata.uid !== undefined && metadata.uid !== current.metadata?.uid) return "metadata.uid";
  if (
    metadata.resourceVersion !== undefined && metadata.resourceVersion !== current.metadata?.resourceVersion
  ) return "metadata.resourceVersion";
  if (patch.status === undefined) return undefined;
  return changeIn("status", patch.status, current.status);
}

/** PodStatus lists merged by key in a strategic merge patch (k8s.io/api core/v1 patchMergeKey). */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  "status.conditions": "type",
  "status.containerStatuses": "name",
  "status.initContainerStatuses": "name",
  "status.ephemeralContainerStatuses": "name",
  "status.podIPs": "ip",
  "status.hostIPs": "ip",
  "status.resourceClaimStatuses": "name",
};

function changeIn(path: string, patch: unknown, current: unknown): string | undefined {
  if (patch === null) return current === undefined || current === null ? undefined : path;
  if (isPlainObject(patch)) {
    if (!isPlainObject(current)) return path;
    for (const [key, value] of Object.entries(patch)) {
      // Patch directives ($patch, $setElementOrder/...) are not compared: write.
      if (key.startsWith("$")) return `${path}.${key}`;
      const change = changeIn(`${path}.${key}`, value, current[key]);
      if (change !== undefined) return change;
    }
    return undefined;
  }
  const mergeKey = MERGE_KEYS[path];
  if (mergeKey && Array.isArray(patch)) return changeInKeyedList(path, mergeKey, patch, current);
  return deepEqual(patch, current) ? undefined : path;
}

function changeInKeyedList(
  path: string,
  key: string,
  patch: unknown[],
  current: unknown,
): string | undefined {
  if (!Array.isArray(current)) return path;
  for (const item of patch) {
    const id = isPlainObject(item) ? item[key] : undefined;
    if (typeof id !== "string") return path;
    const held = current.find((c) => isPlainObject(c) && c[key] === id);
    const change = changeIn(`${path}[${id}]`, item, held);
    if (change !== undefined) return change;
  }
  return undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const keys = Object.keys(a).filter((key) => a[key] !== undefined);
    const otherKeys = Object.keys(b).filter((key) => b[key] !== undefined);
    return keys.length === otherKeys.length && keys.every((key) => deepEqual(a[key], b[key]));
  }
  return false;
}
