/**
 * The messages the cloud's Router sends to a node, shaped as KubeEdge's router providers send them (after
 * CloudHub strips the `node/<name>/` prefix, which never goes on the wire).
 */
import {
  httpRequestContent,
  type HttpRequestWire,
  type Message,
  ROUTER_EVENTBUS_SOURCE,
  ROUTER_SERVICEBUS_SOURCE,
} from "../../lib/protocol/mod.ts";

function message(source: string, operation: string, resource: string, content: unknown): Message {
  return {
    header: { msg_id: crypto.randomUUID(), timestamp: Date.now() },
    route: { source, group: "user", operation, resource },
    content,
  };
}

/** Subscribe the box to MQTT topic `topic` (`<namespace>/<topic>` of an eventbus source). */
export function subscribeMessage(topic: string): Message {
  return message(ROUTER_EVENTBUS_SOURCE, "subscribe", topic, null);
}

export function unsubscribeMessage(topic: string): Message {
  return message(ROUTER_EVENTBUS_SOURCE, "unsubscribe", topic, null);
}

/** Publish `text` on the box's MQTT topic `topic`. */
export function publishMessage(topic: string, text: string): Message {
  return message(ROUTER_EVENTBUS_SOURCE, "publish", topic, text);
}

/** Call `http://127.0.0.1:<port><path>` on the box; the operation is the HTTP method. */
export function serviceCallMessage(port: number, path: string, request: HttpRequestWire): Message {
  return message(ROUTER_SERVICEBUS_SOURCE, request.method, `${port}:${path}`, httpRequestContent(request));
}
