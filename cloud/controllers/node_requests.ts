/**
 * Requests about the edge's own Node and Lease: register (`insert default/node/<n>`), status
 * (`patch default/nodepatch/<n>`) and lease renewal (`update kube-node-lease/lease/<n>`). Authorization has
 * already checked that the names are the node's own.
 */
import type { CoordinationV1Api, V1Lease, V1Node } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";
import { apiStatusOf, MERGE_PATCH, RAW, rawBody, STRATEGIC_MERGE_PATCH } from "./api_calls.ts";
import { contentObject, isPlainObject, NODE_LEASE_NAMESPACE, type RequestDeps } from "./edge_request.ts";
import { registrationLabels } from "./node_labels.ts";
import { notFoundResponse, objectResponse } from "./replies.ts";
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
  if (deps.streamEndpoints) withoutEndpoints(patch);
  const patched = await rawBody<V1Node>(
    await deps.core.patchNodeStatusWithHttpInfo({ name: node, body: patch }, STRATEGIC_MERGE_PATCH),
  );
  deps.ownWrites?.record(`node/${node}`, patched.metadata?.resourceVersion);
  return objectResponse(request, patched);
}

/** Drops what the stream coordinator publishes from a node status patch: addresses and the kubelet port. */
export function withoutEndpoints(patch: Record<string, unknown>): void {
  const status = patch.status;
  if (!isPlainObject(status)) return;
  for (const key of Object.keys(status)) {
    // Strategic-merge directives name the list they order: `$setElementOrder/addresses`.
    if (/^(\$[A-Za-z]+\/)?(addresses|daemonEndpoints)$/.test(key)) delete status[key];
  }
}

/** The CoordinationV1Api calls a Lease renewal makes; tests give a counting stand-in. */
export type LeaseApi = Pick<
  CoordinationV1Api,
  "readNamespacedLease" | "replaceNamespacedLeaseWithHttpInfo" | "createNamespacedLeaseWithHttpInfo"
>;

/**
 * The edge's own Lease as the apiserver wrote it (the kubelet, and KubeEdge's edge, read it before they
 * create or update one); none is a NotFound reply, which such an edge answers with an insert.
 */
export async function queryLease(
  deps: { readonly coordination: Pick<CoordinationV1Api, "readNamespacedLeaseWithHttpInfo"> },
  node: string,
  request: Message,
): Promise<Message> {
  try {
    // Raw, so renewTime keeps the apiserver's microseconds (a Go MicroTime parses only those).
    const lease = await rawBody<V1Lease>(
      await deps.coordination.readNamespacedLeaseWithHttpInfo(
        { name: node, namespace: NODE_LEASE_NAMESPACE },
        RAW,
      ),
    );
    return objectResponse(request, lease);
  } catch (error) {
    if (apiStatusOf(error) !== 404) throw error;
    return notFoundResponse(request, { group: "coordination.k8s.io", kind: "leases", name: node });
  }
}

/** A cached resourceVersion not used for this long is dropped: its edge has stopped renewing (4 x 40 s lease). */
export const LEASE_CACHE_IDLE_MS = 160_000;

/**
 * The resourceVersion of the Lease cloudcore last wrote, per node, so a renewal is one PUT (as the kubelet
 * does) instead of a GET and a PUT. At most one entry per node; an entry is dropped when a write for its node
 * fails, when the Lease is gone (404), and once its node has not renewed for `idleMs` (its edge is gone or
 * the Node was deleted). Entries are kept in order of last use, so the sweep reads only the expired ones.
 */
export class LeaseVersions {
  readonly #versions = new Map<string, { resourceVersion: string; usedAt: number }>();
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(idleMs = LEASE_CACHE_IDLE_MS, now: () => number = Date.now) {
    this.#idleMs = idleMs;
    this.#now = now;
  }

  get size(): number {
    return this.#versions.size;
  }

  get(node: string): string | undefined {
    this.#sweep();
    return this.#versions.get(node)?.resourceVersion;
  }

  set(node: string, resourceVersion: string | undefined): void {
    this.#versions.delete(node);
    if (resourceVersion) this.#versions.set(node, { resourceVersion, usedAt: this.#now() });
    this.#sweep();
  }

  delete(node: string): void {
    this.#versions.delete(node);
  }

  #sweep(): void {
    const oldest = this.#now() - this.#idleMs;
    for (const [node, entry] of this.#versions) {
      if (entry.usedAt > oldest) return;
      this.#versions.delete(node);
    }
  }
}

// One cache per apiserver client, i.e. per createEdgeControllers; it goes with the client.
const leaseVersionsByApi = new WeakMap<LeaseApi, LeaseVersions>();

function leaseVersionsOf(api: LeaseApi): LeaseVersions {
  let versions = leaseVersionsByApi.get(api);
  if (!versions) {
    versions = new LeaseVersions();
    leaseVersionsByApi.set(api, versions);
  }
  return versions;
}

/** Drops what a renewal for `node` remembers (for when its Node is deleted). */
export function forgetLease(api: LeaseApi, node: string): void {
  leaseVersionsByApi.get(api)?.delete(node);
}

/**
 * Creates or renews Lease `<node>` in kube-node-lease with the edge's spec and holderIdentity `<node>`. The
 * resourceVersion of the Lease cloudcore last wrote for the node (else the edge's) is tried first, so a
 * steady renewal is a single PUT; when there is none, or the apiserver answers 409 (someone else wrote it)
 * or 404 (it was deleted), the current one is read and the Lease replaced, or created when there is none.
 * A renewal therefore never fails on a conflict the edge cannot see.
 */
export async function renewLease(
  deps: { readonly coordination: LeaseApi },
  node: string,
  request: Message,
  versions: LeaseVersions = leaseVersionsOf(deps.coordination),
): Promise<Message> {
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
  const written = (result: V1Lease): Message => {
    versions.set(node, result.metadata?.resourceVersion);
    return objectResponse(request, result);
  };
  const replace = async (resourceVersion: string) =>
    await rawBody<V1Lease>(
      await deps.coordination.replaceNamespacedLeaseWithHttpInfo({
        name: node,
        namespace: NODE_LEASE_NAMESPACE,
        body: lease(resourceVersion),
      }, RAW),
    );
  try {
    const known = versions.get(node) ?? body.metadata?.resourceVersion;
    if (known) {
      try {
        return written(await replace(known));
      } catch (error) {
        const status = apiStatusOf(error);
        if (status !== 409 && status !== 404) throw error;
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
    if (current) return written(await replace(current));
    return written(
      await rawBody<V1Lease>(
        await deps.coordination.createNamespacedLeaseWithHttpInfo({
          namespace: NODE_LEASE_NAMESPACE,
          body: lease(),
        }, RAW),
      ),
    );
  } catch (error) {
    versions.delete(node);
    throw error;
  }
}
