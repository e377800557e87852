/**
 * The box's end of the cloud's Router (docs/router.md), wired to the EventBus and the hub:
 * - `router_eventbus` subscribe / unsubscribe: the MQTT topic's messages go to the cloud as `upload`s of
 *   source `bus` (KubeEdge's), for as long as the cloud wants them (it subscribes again after each connect);
 *   publish: the content is published on the topic.
 * - `router_servicebus` with an HTTP method: the ServiceBus calls the app on 127.0.0.1 and the answer goes
 *   back as an `upload` of source `servicebus` naming the call in parent_msg_id. `start` / `stop` (servicebus
 *   as a rule source) are accepted and ignored: kedge runs no box-side listener yet.
 * A resource naming another node (`node/<other>/...`) is refused: an edge acts only for itself.
 */
import type { Logger } from "../lib/log.ts";
import type { Registry } from "../lib/metrics.ts";
import {
  BUS_SOURCE,
  contentText,
  httpResponseContent,
  type Message,
  ROUTER_EVENTBUS_SOURCE,
  ROUTER_SERVICEBUS_SOURCE,
  SERVICEBUS_SOURCE,
  SERVICEBUS_START,
  SERVICEBUS_STOP,
} from "../lib/protocol/mod.ts";
import type { EventBus } from "./bus/mod.ts";
import type { EdgeCoreConfig } from "./config.ts";
import type { EdgeHub } from "./hub/mod.ts";
import { EDGE_SERVER_HEADER, ServiceBus } from "./servicebus/mod.ts";

/** Topics the cloud may have this box subscribe to at once. */
export const MAX_CLOUD_SUBSCRIPTIONS = 1000;

export interface EdgeRouterOptions {
  readonly bus: Promise<EventBus>;
  readonly hub: Pick<EdgeHub, "connected" | "send">;
  readonly config: EdgeCoreConfig;
  readonly nodeName: string;
  readonly log: Logger;
  readonly registry: Registry;
}

export interface EdgeRouter {
  /** True when `message` was the Router's (handled, or refused and logged). */
  handleCloudMessage(message: Message): Promise<boolean>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function startEdgeRouter(o: EdgeRouterOptions): EdgeRouter {
  const log = o.log.child({ module: "router" });
  const sb = o.config.modules.serviceBus;
  const serviceBus = new ServiceBus({
    timeoutMs: sb.timeout * 1000,
    maxBodyBytes: sb.maxBodyBytes,
    maxConcurrentCalls: sb.maxConcurrentCalls,
    log,
  });
  const messages = o.registry.counter(
    "kedge_edge_router_messages_total",
    "Router messages from the cloud, by operation (subscribe, unsubscribe, publish, call, other) and result.",
  );
  const uploads = o.registry.counter(
    "kedge_edge_router_uploads_total",
    "MQTT messages on the cloud's subscribed topics, sent up (sent) or dropped (offline, error).",
  );
  const subscriptions = new Map<string, Promise<() => Promise<void>>>();
  let closed = false;

  const upload = (topic: string, payload: Uint8Array) => {
    if (!o.hub.connected) return uploads.inc({ result: "offline" });
    try {
      o.hub.send({
        header: { msg_id: crypto.randomUUID(), timestamp: Date.now() },
        route: { source: BUS_SOURCE, group: "user", operation: "upload", resource: topic },
        content: decoder.decode(payload),
      });
      uploads.inc({ result: "sent" });
    } catch (error) {
      uploads.inc({ result: "error" });
      log.warn("upload to cloud dropped", { topic: topic.slice(0, 200), error });
    }
  };

  /** The resource without a `node/<name>/` prefix; undefined when it names another node. */
  const ownResource = (resource: string): string | undefined => {
    const m = /^node\/([^/]+)\/(.*)$/s.exec(resource);
    if (!m) return resource;
    return m[1] === o.nodeName ? m[2] : undefined;
  };

  const eventBus = async (operation: string, topic: string, content: unknown): Promise<string> => {
    const bus = await o.bus;
    switch (operation) {
      case "subscribe": {
        if (subscriptions.has(topic)) return "ok";
        if (subscriptions.size >= MAX_CLOUD_SUBSCRIPTIONS) throw new RangeError("too many subscriptions");
        const undo = bus.subscribe(topic, upload);
        subscriptions.set(topic, undo);
        try {
          await undo;
        } catch (error) {
          subscriptions.delete(topic);
          throw error;
        }
        log.info("subscribed for the cloud", { topic });
        return "ok";
      }
      case "unsubscribe": {
        const undo = subscriptions.get(topic);
        subscriptions.delete(topic);
        if (undo) await (await undo)();
        log.info("unsubscribed for the cloud", { topic });
        return "ok";
      }
      case "publish":
        await bus.publishFromCloud(topic, encoder.encode(contentText(content)));
        return "ok";
      default:
        return "unsupported";
    }
  };

  const call = async (message: Message, resource: string) => {
    const { answer, result } = sb.enable
      ? await serviceBus.call(message.route.operation, resource, message.content)
      : {
        answer: {
          header: { Server: [EDGE_SERVER_HEADER] },
          status_code: 503,
          body: encoder.encode(`servicebus is disabled on node ${o.nodeName} (modules.serviceBus.enable)`),
        },
        result: "disabled",
      };
    messages.inc({ operation: "call", result });
    if (!o.hub.connected) return;
    try {
      o.hub.send({
        header: { msg_id: crypto.randomUUID(), parent_msg_id: message.header.msg_id, timestamp: Date.now() },
        route: { source: SERVICEBUS_SOURCE, group: "user", operation: "upload", resource: "" },
        content: httpResponseContent(answer),
      });
    } catch (error) {
      log.warn("servicebus answer not sent", { error });
    }
  };

  return {
    async handleCloudMessage(message) {
      const { source, operation, resource } = message.route;
      if (source !== ROUTER_EVENTBUS_SOURCE && source !== ROUTER_SERVICEBUS_SOURCE) return false;
      if (closed) return true;
      const own = ownResource(resource);
      if (own === undefined) {
        messages.inc({ operation: "other", result: "other_node" });
        log.warn("router message refused", {
          resource: resource.slice(0, 200),
          why: "it names another node",
        });
        return true;
      }
      if (source === ROUTER_SERVICEBUS_SOURCE) {
        if (operation === SERVICEBUS_START || operation === SERVICEBUS_STOP) {
          messages.inc({ operation: "other", result: "unsupported" });
          log.info("servicebus source rule ignored", { operation, url: own.slice(0, 200) });
          return true;
        }
        void call(message, own);
        return true;
      }
      const label = ["subscribe", "unsubscribe", "publish"].includes(operation) ? operation : "other";
      try {
        messages.inc({ operation: label, result: await eventBus(operation, own, message.content) });
      } catch (error) {
        messages.inc({ operation: label, result: "error" });
        log.warn("router message failed", { operation: label, topic: own.slice(0, 200), error });
      }
      return true;
    },
    async close() {
      closed = true;
      const undos = [...subscriptions.values()];
      subscriptions.clear();
      await Promise.allSettled(undos.map(async (u) => (await u)()));
    },
  };
}
