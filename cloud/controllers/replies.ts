/**
 * Replies to edge requests, as upstream's edgecontroller writes them: operation "response" with
 * parent_msg_id = the request's msg_id and the request's route otherwise; content {"Object": ..., "Err": null}
 * for writes, the object itself for queries, "OK" for pod deletes. Failures are `error` replies.
 */
import { errorTo, type Message, newMessage } from "../../lib/protocol/mod.ts";
import { isResourceVersion } from "../../lib/protocol/mod.ts";
import { isKnownGroup } from "../../lib/protocol/mod.ts";

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

function response<C>(request: Message, content: C, resourceVersion: string | undefined): Message<C> {
  const { source, group, resource } = request.route;
  return newMessage({
    source,
    // The route's group is the request's; a group outside the known set answers as "resource".
    group: isKnownGroup(group) ? group : "resource",
    operation: "response",
    resource,
    content,
    parentId: request.header.msg_id,
    ...(resourceVersion && isResourceVersion(resourceVersion) ? { resourceVersion } : {}),
  });
}
