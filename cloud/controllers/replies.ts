/**
 * Replies to edge requests, as upstream's edgecontroller writes them: source "edgecontroller", group
 * "resource", operation "response", the request's resource, parent_msg_id = the request's msg_id; content
 * {"Object": ..., "Err": null} for writes, the object itself for queries, "OK" for pod deletes. A KubeEdge
 * edge routes replies by group and drops any other group ("no handler found for the message"), so the
 * request's own route (e.g. edged/meta) must not come back. Failures are `response`s too, content
 * `{"Object": null, "Err": {"ErrStatus": <Status>}}`: a KubeEdge edge's metamanager passes that form on as
 * an error and never stores it (a bare Status, which upstream sends for failed ConfigMap queries, it would
 * store as the object), and its clients read the Status' reason and code (NotFound, AlreadyExists, ...).
 */
import { type Message, newMessage } from "../../lib/protocol/mod.ts";
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

/** The parts of a Kubernetes Status a failure reply carries. */
export interface FailureStatus {
  readonly code: number;
  /** A StatusReason: BadRequest, Forbidden, NotFound, Conflict, ServiceUnavailable, ... */
  readonly reason: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface FailureContent {
  readonly Object: null;
  readonly Err: { readonly ErrStatus: Readonly<Record<string, unknown>> };
}

/** `{"Object": null, "Err": {"ErrStatus": <Status>}}`, as upstream marshals an apiserver error. */
export function failureResponse(request: Message, status: FailureStatus): Message<FailureContent> {
  const ErrStatus = {
    metadata: {},
    status: "Failure",
    message: status.message,
    reason: status.reason,
    ...(status.details ? { details: status.details } : {}),
    code: status.code,
  };
  return response(request, { Object: null, Err: { ErrStatus } }, undefined);
}

/** A 404 Status naming the object, as the apiserver words it. */
export function notFoundResponse(
  request: Message,
  what: { group: string; kind: string; name: string },
): Message<FailureContent> {
  const plural = what.group ? `${what.kind}.${what.group}` : what.kind;
  return failureResponse(request, {
    code: 404,
    reason: "NotFound",
    message: `${plural} "${what.name}" not found`,
    details: { name: what.name, group: what.group, kind: what.kind },
  });
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
