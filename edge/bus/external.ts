/**
 * edgecore as an MQTT.js client of an external broker (modes 1 and 2). MQTT 5, so that edgecore's own
 * subscriptions carry "no local" (what it publishes never comes back to it) and the broker is told the
 * largest packet edgecore accepts. Reconnects forever; subscriptions are renewed on each reconnect.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "../../lib/log.ts";
import type { Delivery } from "./broker.ts";
import { dialUrl, type Qos } from "./options.ts";
import { topicMatches } from "./topic.ts";

export interface ExternalOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly clientId: string;
  readonly qos: Qos;
  /** Told to the broker as MQTT 5 Maximum Packet Size: larger messages are not sent to edgecore. */
  readonly maxPacketBytes: number;
  /** How long start waits for the first connection before it goes on and keeps retrying. */
  readonly connectWaitMs?: number;
  readonly log: Logger;
}

export interface ExternalLink {
  readonly connected: boolean;
  publish(topic: string, payload: Uint8Array, qos: Qos): Promise<void>;
  subscribe(filter: string, deliver: Delivery): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const RECONNECT_MS = 1000;

export async function connectExternal(options: ExternalOptions): Promise<ExternalLink> {
  const { log } = options;
  const routes = new Map<string, Set<Delivery>>();
  const client: MqttClient = mqtt.connect(dialUrl(options.url), {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: true,
    username: options.username || undefined,
    password: options.password || undefined,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: 10_000,
    queueQoSZero: false,
    resubscribe: true,
    properties: { maximumPacketSize: options.maxPacketBytes },
  });
  client.on("message", (topic, payload) => {
    for (const [filter, deliveries] of routes) {
      if (!topicMatches(filter, topic)) continue;
      for (const deliver of deliveries) deliver(topic, payload);
    }
  });
  client.on("connect", () => log.info("mqtt external broker connected", { url: options.url }));
  client.on("offline", () => log.warn("mqtt external broker offline", { url: options.url }));
  client.on("error", (error) => log.warn("mqtt external broker error", { url: options.url, error }));

  const wait = options.connectWaitMs ?? 5000;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn("mqtt external broker unreachable, retrying", { url: options.url, waitedMs: wait });
      resolve();
    }, wait);
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
  });

  return {
    get connected() {
      return client.connected;
    },
    async publish(topic, payload, qos) {
      if (!client.connected) {
        throw new Error(`Cannot publish to ${topic}: the external broker ${options.url} is not connected`);
      }
      await client.publishAsync(topic, payload as Uint8Array & Parameters<MqttClient["publish"]>[1], { qos });
    },
    async subscribe(filter, deliver) {
      let deliveries = routes.get(filter);
      if (!deliveries) {
        deliveries = new Set();
        routes.set(filter, deliveries);
        // While offline MQTT.js keeps the request and sends it on connect; do not wait for that.
        const granted = client.subscribeAsync(filter, { qos: options.qos, nl: true }).then((grants) => {
          if (grants.some((g) => g.qos >= 128)) {
            log.warn("mqtt external subscription refused", { url: options.url, filter });
          }
        });
        if (client.connected) await granted;
        else granted.catch((error) => log.warn("mqtt external subscribe failed", { filter, error }));
      }
      deliveries.add(deliver);
      return async () => {
        deliveries.delete(deliver);
        if (deliveries.size === 0 && routes.get(filter) === deliveries) {
          routes.delete(filter);
          if (client.connected) await client.unsubscribeAsync(filter);
        }
      };
    },
    async close() {
      await client.endAsync(true);
    },
  };
}
