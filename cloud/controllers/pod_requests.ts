/**
 * Requests about pods bound to the edge: status (`patch <ns>/podpatch/<pod>`) and the final delete
 * (`delete <ns>/pod/<pod>`) once the edge has stopped the containers. Authorization has already checked
 * that the pod is bound to the node.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";
import { apiStatusOf, rawBody, STRATEGIC_MERGE_PATCH } from "./api_calls.ts";
import { EdgeRequestError, isPlainObject, type RequestDeps } from "./edge_request.ts";
import { objectResponse, okResponse } from "./replies.ts";
import { POD_PATCH_METADATA, readStatusPatch } from "./status_patch.ts";
import { firstChange } from "./unchanged_patch.ts";

export async function patchPodStatus(
  deps: RequestDeps,
  namespace: string,
  name: string,
  request: Message,
): Promise<Message> {
  const patch = readStatusPatch(request.content, "pod status", POD_PATCH_METADATA);
  const cached = deps.caches.pods.get(name, namespace);
  const change = cached ? firstChange(patch, cached) : "status";
  if (cached && change === undefined) {
    deps.unchangedWrites?.inc({ kind: "pod_status" });
    return objectResponse(request, cached);
  }
  deps.log.debug("pod status written", { namespace, pod: name, firstChange: change });
  const patched = await rawBody<V1Pod>(
    await deps.core.patchNamespacedPodStatusWithHttpInfo(
      { name, namespace, body: patch },
      STRATEGIC_MERGE_PATCH,
    ),
  );
  deps.ownWrites?.record(`${namespace}/${name}`, patched.metadata?.resourceVersion);
  return objectResponse(request, patched);
}

/**
 * Deletes the pod with grace period 0 and a UID precondition: the UID the edge names (content as a plain
 * UID string, as older edgecores send, or DeleteOptions with preconditions.uid), else the UID of the pod
 * bound to the node, so a new pod with the same name is never deleted. A pod already gone counts as deleted.
 */
export async function deletePod(
  deps: RequestDeps,
  namespace: string,
  name: string,
  request: Message,
): Promise<Message> {
  const uid = requestedUid(request.content) ?? deps.caches.pods.get(name, namespace)?.metadata?.uid;
  if (!uid) throw new EdgeRequestError(`Cannot delete pod ${namespace}/${name}: its uid is unknown`);
  try {
    await deps.core.deleteNamespacedPod({
      name,
      namespace,
      gracePeriodSeconds: 0,
      body: { gracePeriodSeconds: 0, preconditions: { uid } },
    });
  } catch (error) {
    if (apiStatusOf(error) !== 404) throw error;
  }
  deps.log.info("edge pod deleted", { namespace, pod: name, uid });
  return okResponse(request);
}

function requestedUid(content: unknown): string | undefined {
  if (typeof content === "string") return content.length > 0 && content.length <= 64 ? content : undefined;
  if (!isPlainObject(content) || !isPlainObject(content.preconditions)) return undefined;
  const uid = content.preconditions.uid;
  return typeof uid === "string" && uid.length > 0 && uid.length <= 64 ? uid : undefined;
}
