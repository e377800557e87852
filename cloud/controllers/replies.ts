/**
 * Replies to edge requests, as upstream's edgecontroller writes them: source "edgecontroller", group
 * "resource", operation "response", the request's resource, parent_msg_id = the request's msg_id; content
 * {"Object": ..., "Err": null} for writes, the object itself for queries, "OK" for pod deletes. A KubeEdge
 * edge routes replies by group and drops any other group ("no handler found for the message"), so the
 * request's own route (e.g. edged/meta) must not come back. Failures are `error` replies, except a missing
 * object, which is a `response` whose Err is the apiserver's NotFound Status (what a KubeEdge edge decodes).
 */
import { errorTo, type Message, newMessage } from "../../lib/protocol/mod.ts";
import { isResourceVersion } from "../../lib/protocol/mod.ts";

export interface ObjectResp<T> {
  readonly Object: T;
  readonly Err: null;
}

interface Versioned {
  readonly metadata?: { readonly resourceVersion?: string };
}

/** `{"Object": object, "Err": null}`, header.resourceversion = the object's. */
export function objectResponse<T extends Versioned>(request: Message, object: T): Message<ObjectResp<T>> {
  return response(request, { Object: object, Err: null }, object.metadata?.resourceVersion);
}

/** The object itself as content (upstream's reply to `query`). */
export function queryResponse<T extends Versioned>(request: Message, object: T): Message<T> {
  return response(request, object, object.metadata?.resourceVersion);
}

/** Content "OK" (upstream's MessageSuccessfulContent). */
export function okResponse(request: Message): Message<string> {
  return response(request, "OK", undefined);
}

export function errorReply(request: Message, reason: string): Message<string> {
  return errorTo(request, reason);
}

/** `{"Object": null, "Err": {"ErrStatus": <404 Status>}}`, as upstream marshals an apiserver NotFound. */
export function notFoundResponse(
  request: Message,
  what: { group: string; kind: string; name: string },
): Message<{ Object: null; Err: { ErrStatus: Record<string, unknown> } }> {
  const plural = what.group ? `${what.kind}.${what.group}` : what.kind;
  const ErrStatus = {
    metadata: {},
    status: "Failure",
    message: `${plural} "${what.name}" not found`,
    reason: "NotFound",
    details: { name: what.name, group: what.group, kind: what.kind },
    code: 404,
  };
  return response(request, { Object: null, Err: { ErrStatus } }, undefined);
}

function response<C>(request: Message, content: C, resourceVersion: string | undefined): Message<C> {
  return newMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "response",
    resource: request.route.resource,
    content,
    parentId: request.header.msg_id,
    ...(resourceVersion && isResourceVersion(resourceVersion) ? { resourceVersion } : {}),
  });
}
