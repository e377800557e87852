/**
 * The EventBus: the box's MQTT side. Mode 0 runs the built-in broker, mode 2 connects to an external one,
 * mode 1 does both (subscribes on both, publishes to both). edge/twin uses `subscribe` and `publish`;
 * messages on the upload topics go to `upstream`; the cloud's messages come in through `publishFromCloud`.
 * The broker (aedes) and the MQTT client (mqtt.js) are loaded only in the modes that use them: each holds a
 * few MiB of code and heap that a box in the other mode would carry for nothing.
 */
import type { BuiltinBroker, Delivery } from "./broker.ts";
import type { ExternalLink } from "./external.ts";
import {
  DEFAULT_AUTH,
  DEFAULT_BROKER_LIMITS,
  type EventBusOptions,
  type HostPort,
  listenAddress,
  type Qos,
} from "./options.ts";
import { isPublishTopic, isTopicFilter, UPSTREAM_FILTERS } from "./topic.ts";

export type MessageHandler = (topic: string, payload: Uint8Array) => void;

export interface PublishOptions {
  readonly qos?: Qos;
}

export interface EventBus {
  /** The built-in broker's address (modes 0 and 1). */
  readonly brokerAddress?: HostPort;
  /** Calls `handler` for every client message matching `filter`, from every broker; returns the unsubscribe. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /** Publishes to every broker of the mode. Rejects when no broker took it. */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  /** A cloud -> box message (group user): published as is with the configured QoS. */
  publishFromCloud(topic: string, payload: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
}

interface Link {
  readonly name: "internal" | "external";
  publish(topic: string, payload: Uint8Array, qos: Qos): Promise<void>;
  subscribe(filter: string, deliver: Delivery): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

export async function startEventBus(options: EventBusOptions): Promise<EventBus> {
  const limits = { ...DEFAULT_BROKER_LIMITS, ...options.limits };
  const log = options.log.child({ module: "eventbus" });
  const links: Link[] = [];
  let broker: BuiltinBroker | undefined;
  try {
    if (options.mode === 0 || options.mode === 1) {
      const { startBroker } = await import("./broker.ts");
      broker = await startBroker({
        listen: listenAddress(options.internalUrl),
        limits,
        auth: options.auth ?? DEFAULT_AUTH,
        log,
        metrics: options.metrics,
      });
      const { publish, subscribe, close } = broker;
      links.push({ name: "internal", publish, subscribe, close });
    }
    if (options.mode === 1 || options.mode === 2) {
      const { connectExternal } = await import("./external.ts");
      const external: ExternalLink = await connectExternal({
        url: options.externalUrl,
        username: options.username,
        password: options.password,
        clientId: options.clientId ?? `edgecore-${crypto.randomUUID().slice(0, 8)}`,
        qos: options.qos,
        maxPacketBytes: limits.maxPacketBytes,
        reconnect: options.externalReconnect,
        log,
      });
      links.push({
        name: "external",
        publish: external.publish,
        subscribe: external.subscribe,
        close: external.close,
      });
    }
  } catch (error) {
    await Promise.allSettled(links.map((link) => link.close()));
    throw new Error(`Cannot start the EventBus in mode ${options.mode}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const subscribe = async (filter: string, handler: MessageHandler) => {
    if (!isTopicFilter(filter)) {
      throw new RangeError(`Cannot subscribe to ${JSON.stringify(filter)}: bad filter`);
    }
    const undo = await Promise.all(links.map((link) => link.subscribe(filter, handler)));
    return async () => {
      await Promise.all(undo.map((u) => u()));
    };
  };
  const publish = async (topic: string, payload: Uint8Array | string, publishOptions?: PublishOptions) => {
    if (!isPublishTopic(topic)) throw new RangeError(`Cannot publish to ${JSON.stringify(topic)}: bad topic`);
    const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
    const qos = publishOptions?.qos ?? options.qos;
    const results = await Promise.allSettled(links.map((link) => link.publish(topic, bytes, qos)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length === results.length && failed.length > 0) {
      throw new Error(`Cannot publish to ${topic}: no broker took it`, { cause: failed[0]!.reason });
    }
  };

  if (options.upstream) {
    const upstream = options.upstream;
    for (const filter of UPSTREAM_FILTERS) {
      await subscribe(filter, (topic, payload) => {
        try {
          upstream(topic, payload);
        } catch (error) {
          log.error("upstream handler failed", { topic, error });
        }
      });
    }
  }
  log.info("eventbus started", { mode: options.mode, brokers: links.map((l) => l.name) });

  return {
    brokerAddress: broker?.address,
    subscribe,
    publish,
    publishFromCloud: (topic, payload) => publish(topic, payload),
    async close() {
      await Promise.allSettled(links.map((link) => link.close()));
      log.info("eventbus stopped", {});
    },
  };
}
