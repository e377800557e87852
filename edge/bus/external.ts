/**
 * edgecore as an MQTT.js client of an external broker (modes 1 and 2). MQTT 5, so that edgecore's own
 * subscriptions carry "no local" (what it publishes never comes back to it) and the broker is told the
 * largest packet edgecore accepts. Reconnects forever with a jittered exponential backoff (1 s doubling to
 * 30 s, back to 1 s once connected), one warning per failed attempt and one line when it is back;
 * subscriptions are renewed on each connection.
 */
import mqtt, { type MqttClient } from "mqtt";
import { Backoff } from "../../lib/backoff.ts";
import type { Logger } from "../../lib/log.ts";
import type { Delivery } from "./broker.ts";
import { dialUrl, type Qos } from "./options.ts";
import { topicMatches } from "./topic.ts";

export interface ReconnectOptions {
  /** Ceiling of the first delay. */
  readonly initialMs: number;
  /** Largest ceiling; each delay is between half its ceiling and the ceiling. */
  readonly capMs: number;
}

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
  /** Delays between attempts; DEFAULT_RECONNECT unless given (tests pass short ones). */
  readonly reconnect?: ReconnectOptions;
  readonly log: Logger;
}

export interface ExternalLink {
  readonly connected: boolean;
  publish(topic: string, payload: Uint8Array, qos: Qos): Promise<void>;
  subscribe(filter: string, deliver: Delivery): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const DEFAULT_RECONNECT: ReconnectOptions = { initialMs: 1000, capMs: 30_000 };

export async function connectExternal(options: ExternalOptions): Promise<ExternalLink> {
  const { log, url } = options;
  const routes = new Map<string, Set<Delivery>>();
  // Equal jitter: a delay is never below half its ceiling, so no attempt follows another at once.
  const backoff = new Backoff({
    ...(options.reconnect ?? DEFAULT_RECONNECT),
    random: () => 0.5 + Math.random() / 2,
  });
  // MQTT.js would retry every reconnectPeriod forever (and emit an error each time); this file schedules
  // the attempts instead, and renews the subscriptions itself since MQTT.js only does so with its own timer.
  const client: MqttClient = mqtt.connect(dialUrl(url), {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: true,
    username: options.username || undefined,
    password: options.password || undefined,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    queueQoSZero: false,
    resubscribe: false,
    properties: { maximumPacketSize: options.maxPacketBytes },
  });
  let closing = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let lastError: unknown;
  let failed = 0;
  let wasConnected = false;
  let everConnected = false;
  let downSince = 0;

  const subscribeRemote = async (filter: string) => {
    const grants = await client.subscribeAsync(filter, { qos: options.qos, nl: true });
    if (grants.some((g) => g.qos >= 128)) log.warn("mqtt external subscription refused", { url, filter });
  };
  client.on("message", (topic, payload) => {
    for (const [filter, deliveries] of routes) {
      if (!topicMatches(filter, topic)) continue;
      for (const deliver of deliveries) deliver(topic, payload);
    }
  });
  client.on("connect", () => {
    const msg = everConnected ? "mqtt external broker reconnected" : "mqtt external broker connected";
    log.info(
      msg,
      downSince === 0 ? { url } : { url, failedAttempts: failed, downMs: Date.now() - downSince },
    );
    backoff.reset();
    failed = 0;
    downSince = 0;
    lastError = undefined;
    wasConnected = true;
    everConnected = true;
    // A clean session starts without subscriptions: renew every route.
    for (const filter of routes.keys()) {
      subscribeRemote(filter).catch((error) => log.warn("mqtt external subscribe failed", { filter, error }));
    }
  });
  // Every failed attempt emits an error and then close; the close below logs it once.
  client.on("error", (error) => lastError = error);
  client.on("close", () => {
    if (closing || retry !== undefined) return;
    if (downSince === 0) downSince = Date.now();
    const retryInMs = backoff.next();
    if (wasConnected) {
      wasConnected = false;
      log.warn("mqtt external broker offline, retrying", { url, error: lastError, retryInMs });
    } else {
      failed++;
      log.warn("mqtt external broker unreachable, retrying", {
        url,
        error: lastError,
        attempt: failed,
        retryInMs,
      });
    }
    lastError = undefined;
    retry = setTimeout(() => {
      retry = undefined;
      // The stores are kept, so QoS 1 and 2 messages in flight are sent again on the next connection.
      if (!closing) {
        client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
      }
    }, retryInMs);
  });

  const wait = options.connectWaitMs ?? 5000;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, wait);
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
        throw new Error(`Cannot publish to ${topic}: the external broker ${url} is not connected`);
      }
      await client.publishAsync(topic, payload as Uint8Array & Parameters<MqttClient["publish"]>[1], { qos });
    },
    async subscribe(filter, deliver) {
      let deliveries = routes.get(filter);
      if (!deliveries) {
        deliveries = new Set();
        routes.set(filter, deliveries);
        // While offline the next connection subscribes every route; do not wait for that.
        if (client.connected) await subscribeRemote(filter);
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
      closing = true;
      clearTimeout(retry);
      await client.endAsync(true);
    },
  };
}
