/** Builders for outgoing messages; responses follow upstream's NewRespByMessage and NewErrorMessage. */
import { isResourceVersion } from "./resource_version.ts";
import type { Group, Header, Message, Operation } from "./types.ts";

export interface NewMessageInit<C> {
  readonly source: string;
  readonly group: Group;
  readonly operation: Operation;
  readonly resource: string;
  readonly content: C;
  /** The resourceVersion of the object in `content`; decimal digits. */
  readonly resourceVersion?: string;
  /** The request's msg_id, for responses. */
  readonly parentId?: string;
  readonly sync?: boolean;
}

/** Content of the acknowledgement the edge sends once an object is stored. */
export const ACK_CONTENT = "OK";

/**
 * A new message with a fresh UUID and the current time. Empty optional fields are left out, as upstream's
 * omitempty does. Throws RangeError for a resourceVersion that is not decimal digits.
 */
export function newMessage<C>(init: NewMessageInit<C>): Message<C> {
  const { resourceVersion, parentId, sync } = init;
  if (resourceVersion && !isResourceVersion(resourceVersion)) {
    throw new RangeError(
      `Cannot build message: resourceVersion ${
        JSON.stringify(resourceVersion)
      } is not a string of decimal digits`,
    );
  }
  const header: Header = {
    msg_id: crypto.randomUUID(),
    ...(parentId ? { parent_msg_id: parentId } : {}),
    timestamp: Date.now(),
    ...(resourceVersion ? { resourceversion: resourceVersion } : {}),
    ...(sync ? { sync: true } : {}),
  };
  return {
    header,
    route: { source: init.source, group: init.group, operation: init.operation, resource: init.resource },
    content: init.content,
  };
}

/**
 * The response to `request`: operation "response", parent_msg_id = the request's msg_id, and the request's
 * source, group and resource unchanged (upstream matches responses on these).
 */
export function responseTo<C>(request: Message, content: C): Message<C> {
  return reply(request, "response", content);
}

/** The acknowledgement of `request`: a response with content "OK", sent after the object is stored. */
export function ackOf(request: Message): Message<typeof ACK_CONTENT> {
  return reply(request, "response", ACK_CONTENT);
}

/** Tells the sender of `request` that it failed: operation "error" with the reason as content. */
export function errorTo(request: Message, reason: string): Message<string> {
  return reply(request, "error", reason);
}

/** The keepalive the edge sends every heartbeat, exactly as upstream edgehub writes it. */
export function keepaliveMessage(): Message<"ping"> {
  return {
    header: { msg_id: crypto.randomUUID(), timestamp: Date.now() },
    route: { source: "websocket", group: "resource", operation: "keepalive", resource: "node" },
    content: "ping",
  };
}

function reply<C>(request: Message, operation: Operation, content: C): Message<C> {
  const { source, group, resource } = request.route;
  return {
    header: { msg_id: crypto.randomUUID(), parent_msg_id: request.header.msg_id, timestamp: Date.now() },
    route: { source, group, operation, resource },
    content,
  };
}
