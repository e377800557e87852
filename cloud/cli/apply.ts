// Server-side apply of whole objects, as `kubectl apply --server-side` does: creating what is missing,
// bringing back what drifted, and leaving an object that already matches untouched (same resourceVersion).
import {
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from "@kubernetes/client-node";
import { isNotFound } from "../kube/mod.ts";

/** The field manager kedge's commands apply as. */
export const FIELD_MANAGER = "kedge";

export type ApplyOutcome = "created" | "configured" | "unchanged";

export interface Applied {
  /** `kind/name`, lowercased kind, as kubectl prints it. */
  readonly ref: string;
  readonly outcome: ApplyOutcome;
}

/** Applies each object in order. Throws the apiserver's error for the first that fails. */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly Record<string, unknown>[],
): Promise<Applied[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const results: Applied[] = [];
  for (const object of objects) {
    const spec = object as KubernetesObject;
    const ref = `${(spec.kind ?? "").toLowerCase()}/${spec.metadata?.name ?? ""}`;
    const before = await readVersion(api, spec);
    // A Namespace holds nothing to bring back, and the apiserver answers its first apply without managed
    // fields, so a second apply would rewrite it: an existing one is left alone.
    if (spec.kind === "Namespace" && before !== undefined) {
      results.push({ ref, outcome: "unchanged" });
      continue;
    }
    let after: KubernetesObject;
    try {
      after = await api.patch(spec, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (err) {
      throw new Error(`Cannot apply ${ref}: ${describe(err)}`, { cause: err });
    }
    const outcome: ApplyOutcome = before === undefined
      ? "created"
      : after.metadata?.resourceVersion === before
      ? "unchanged"
      : "configured";
    results.push({ ref, outcome });
  }
  return results;
}

async function readVersion(api: KubernetesObjectApi, spec: KubernetesObject): Promise<string | undefined> {
  try {
    const header = {
      apiVersion: spec.apiVersion ?? "",
      kind: spec.kind ?? "",
      metadata: { name: spec.metadata?.name ?? "", namespace: spec.metadata?.namespace },
    };
    return (await api.read(header)).metadata?.resourceVersion ?? "";
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new Error(`Cannot read ${spec.kind}/${spec.metadata?.name}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const message = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof message === "string") return message;
    } catch { /* not JSON */ }
  }
  return err instanceof Error ? err.message.split("\n")[0] ?? "" : String(err);
}
