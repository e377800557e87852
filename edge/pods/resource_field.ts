/**
 * The downward API's resource fields (`resourceFieldRef`, in env and in downwardAPI volume items), as the
 * kubelet computes them: a container's limit or request divided by the divisor and rounded up; a limit the
 * container does not set is the node's allocatable (the kubelet's defaultPodLimitsForDownwardAPI); a divisor
 * that is absent or zero (the apiserver defaults it to "0") counts as 1.
 */
import type { PodContext } from "./field_ref.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import { parseQuantity } from "./quantity.ts";

export interface ResourceFieldRef {
  readonly resource: string;
  readonly containerName?: string;
  readonly divisor?: string | number;
}

/** The value for `ref` about `container`; throws RangeError for a resource the downward API does not offer. */
export function resourceFieldValue(ctx: PodContext, container: ContainerSpec, ref: ResourceFieldRef): string {
  const [kind, name = ""] = ref.resource.split(/\.(.*)/s);
  if ((kind !== "limits" && kind !== "requests") || !name) {
    throw new RangeError(`Cannot read resource ${JSON.stringify(ref.resource)}: not limits.* or requests.*`);
  }
  const set = kind === "limits" ? container.resources?.limits : container.resources?.requests;
  const raw = set?.[name] ?? (kind === "limits" ? ctx.allocatable?.[name] : undefined);
  if (raw === undefined) return "0";
  const divisor = ref.divisor === undefined ? 1 : parseQuantity(ref.divisor);
  return String(Math.ceil(parseQuantity(raw) / (divisor === 0 ? 1 : divisor)));
}

/** The container a volume item's `containerName` names (or the first), or throws RangeError. */
export function containerNamed(ctx: PodContext, name: string | undefined): ContainerSpec {
  const all = [...ctx.pod.spec.containers, ...(ctx.pod.spec.initContainers ?? [])];
  const found = name ? all.find((c) => c.name === name) : all[0];
  if (!found) throw new RangeError(`Cannot read resource field: no container named ${JSON.stringify(name)}`);
  return found;
}
