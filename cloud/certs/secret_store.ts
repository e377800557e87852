// Get-or-create of the PKI Secrets, safe when several cloudcore replicas start at once on one apiserver:
// create -> 409 AlreadyExists -> read the winner's Secret. Updates carry the resourceVersion they read.
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { isConflict, isNotFound, secretData } from "../kube/mod.ts";
import { KUBEEDGE_NAMESPACE } from "./names.ts";

export async function ensureNamespace(core: CoreV1Api, name: string = KUBEEDGE_NAMESPACE): Promise<void> {
  try {
    await core.readNamespace({ name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await core.createNamespace({ body: { metadata: { name } } });
    } catch (createErr) {
      if (!isConflict(createErr)) throw createErr;
    }
  }
}

export async function readSecret(core: CoreV1Api, name: string): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ name, namespace: KUBEEDGE_NAMESPACE });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface GetOrCreated {
  readonly secret: V1Secret;
  /** True when this call created it; false when it existed or another replica won the race. */
  readonly created: boolean;
}

/** Reads Secret `name`; when missing, creates it from `make()`; when another writer wins, reads theirs. */
export async function getOrCreateSecret(
  core: CoreV1Api,
  name: string,
  make: () => Promise<Record<string, Uint8Array>>,
): Promise<GetOrCreated> {
  const existing = await readSecret(core, name);
  if (existing) return { secret: existing, created: false };
  const body: V1Secret = {
    metadata: { name, namespace: KUBEEDGE_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "kedge" } },
    type: "Opaque",
    data: secretData(await make()),
  };
  try {
    return {
      secret: await core.createNamespacedSecret({ namespace: KUBEEDGE_NAMESPACE, body }),
      created: true,
    };
  } catch (err) {
    if (!isConflict(err)) throw err;
    const winner = await readSecret(core, name);
    if (!winner) {
      throw new Error(`Cannot read secret ${KUBEEDGE_NAMESPACE}/${name}: gone after a create race`);
    }
    return { secret: winner, created: false };
  }
}

/**
 * Replaces the data of `secret` (as read) with `data`. Returns the stored Secret, or undefined when someone
 * else changed it since it was read (409): the caller re-reads and decides again.
 */
export async function replaceSecretData(
  core: CoreV1Api,
  secret: V1Secret,
  data: Record<string, Uint8Array>,
): Promise<V1Secret | undefined> {
  const name = secret.metadata?.name ?? "";
  const body: V1Secret = { ...secret, data: secretData(data) };
  try {
    return await core.replaceNamespacedSecret({ name, namespace: KUBEEDGE_NAMESPACE, body });
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw err;
  }
}
