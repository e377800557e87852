/**
 * Requests about the edge's own Node and Lease: register (`insert default/node/<n>`), status
 * (`patch default/nodepatch/<n>`) and lease renewal (`update kube-node-lease/lease/<n>`). Authorization has
 * already checked that the names are the node's own.
 */
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";
import { apiStatusOf, MERGE_PATCH, RAW, rawBody, STRATEGIC_MERGE_PATCH } from "./api_calls.ts";
import { contentObject, isPlainObject, NODE_LEASE_NAMESPACE, type RequestDeps } from "./edge_request.ts";
import { registrationLabels } from "./node_labels.ts";
import { objectResponse } from "./replies.ts";
import { NODE_PATCH_METADATA, readStatusPatch } from "./status_patch.ts";

/** Creates the Node, or adds the labels to the one that exists; both carry the edge role labels. */
export async function registerNode(deps: RequestDeps, node: string, request: Message): Promise<Message> {
  const body = contentObject(request.content, "node") as V1Node;
  const { labels, refused } = registrationLabels(body.metadata?.labels);
  if (refused.length > 0) deps.log.warn("edge node labels refused", { node, labels: refused });
  const annotations = body.metadata?.annotations;
  const fresh: V1Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node, labels, ...(annotations ? { annotations } : {}) },
    ...(body.spec ? { spec: body.spec } : {}),
    ...(body.status ? { status: body.status } : {}),
  };
  try {
    const created = await rawBody<V1Node>(await deps.core.createNodeWithHttpInfo({ body: fresh }, RAW));
    deps.log.info("edge node registered", { node });
    return objectResponse(request, created);
  } catch (error) {
    if (apiStatusOf(error) !== 409) throw error;
  }
  const patched = await rawBody<V1Node>(
    await deps.core.patchNodeWithHttpInfo({ name: node, body: { metadata: { labels } } }, MERGE_PATCH),
  );
  deps.log.info("edge node re-registered", { node });
  return objectResponse(request, patched);
}

export async function patchNodeStatus(deps: RequestDeps, node: string, request: Message): Promise<Message> {
  const patch = readStatusPatch(request.content, "node status", NODE_PATCH_METADATA);
  const patched = await rawBody<V1Node>(
    await deps.core.patchNodeStatusWithHttpInfo({ name: node, body: patch }, STRATEGIC_MERGE_PATCH),
  );
  return objectResponse(request, patched);
}

/**
 * Creates or renews Lease `<node>` in kube-node-lease with the edge's spec. The edge's resourceVersion is
 * tried first; when it is missing or stale the current one is read, so a renewal never fails on a
 * conflict the edge cannot see.
 */
export async function renewLease(deps: RequestDeps, node: string, request: Message): Promise<Message> {
  const body = contentObject(request.content, "lease") as V1Lease;
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const lease = (resourceVersion?: string): V1Lease => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: node,
      namespace: NODE_LEASE_NAMESPACE,
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec: { ...spec, holderIdentity: node },
  });
  const replace = async (resourceVersion: string) =>
    await rawBody<V1Lease>(
      await deps.coordination.replaceNamespacedLeaseWithHttpInfo({
        name: node,
        namespace: NODE_LEASE_NAMESPACE,
        body: lease(resourceVersion),
      }, RAW),
    );
  const given = body.metadata?.resourceVersion;
  if (given) {
    try {
      return objectResponse(request, await replace(given));
    } catch (error) {
      if (apiStatusOf(error) !== 409) throw error;
    }
  }
  let current: string | undefined;
  try {
    const existing = await deps.coordination.readNamespacedLease({
      name: node,
      namespace: NODE_LEASE_NAMESPACE,
    });
    current = existing.metadata?.resourceVersion;
  } catch (error) {
    if (apiStatusOf(error) !== 404) throw error;
  }
  if (current) return objectResponse(request, await replace(current));
  const created = await rawBody<V1Lease>(
    await deps.coordination.createNamespacedLeaseWithHttpInfo({
      namespace: NODE_LEASE_NAMESPACE,
      body: lease(),
    }, RAW),
  );
  return objectResponse(request, created);
}
