/**
 * Status patches from an edge (node status, pod status): strategic-merge patches sent to the status
 * subresource. Only `status` and a few metadata keys may appear, so a patch cannot relabel or re-own the
 * object through the status endpoint (which for Nodes and Pods accepts metadata changes).
 */
import { contentObject, EdgeRequestError, isPlainObject } from "./edge_request.ts";

/** Metadata keys a kubelet-style node status patch carries (uid and resourceVersion act as preconditions). */
export const NODE_PATCH_METADATA: ReadonlySet<string> = new Set(["uid", "resourceVersion", "annotations"]);
/** A kubelet pod status patch carries metadata.uid as a precondition, nothing else. */
export const POD_PATCH_METADATA: ReadonlySet<string> = new Set(["uid", "resourceVersion"]);

/** The patch as a JSON object, or EdgeRequestError naming the first key that is not allowed. */
export function readStatusPatch(
  content: unknown,
  what: string,
  allowedMetadata: ReadonlySet<string>,
): Record<string, unknown> {
  const patch = contentObject(content, what);
  for (const key of Object.keys(patch)) {
    if (key !== "status" && key !== "metadata") {
      throw new EdgeRequestError(
        `Cannot patch ${what}: key ${JSON.stringify(key.slice(0, 64))} is not allowed`,
      );
    }
  }
  if (patch.metadata !== undefined) {
    if (!isPlainObject(patch.metadata)) {
      throw new EdgeRequestError(`Cannot patch ${what}: metadata is not an object`);
    }
    for (const key of Object.keys(patch.metadata)) {
      if (!allowedMetadata.has(key)) {
        throw new EdgeRequestError(
          `Cannot patch ${what}: metadata.${key.slice(0, 64)} is not allowed in a status patch`,
        );
      }
    }
  }
  return patch;
}
