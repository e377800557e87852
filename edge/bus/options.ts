/** The EventBus's options: every limit of the built-in broker in one object, as aedes takes them. */
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import type { BusAuthOptions } from "./acl.ts";

/** 0 the built-in broker, 1 both, 2 an external broker (mosquitto); KubeEdge's numbers. */
export type MqttMode = 0 | 1 | 2;
export type Qos = 0 | 1 | 2;

export interface BrokerLimits {
  /** Largest MQTT packet a client may send, fixed header included; a bigger one closes its connection. */
  readonly maxPacketBytes: number;
  /** Clients connected at once; a connection beyond it is closed before CONNECT is read. */
  readonly maxConnections: number;
  /** Bytes held for one client that reads too slowly; beyond it that client is disconnected. */
  readonly maxQueuedBytesPerClient: number;
  /** Packets a client may send before its CONNACK. */
  readonly maxQueuedBeforeConnect: number;
  /** Inbound QoS 2 messages of one client awaiting PUBREL; beyond it the client is disconnected. */
  readonly maxInflightPerClient: number;
  /** Subscriptions one client may hold; more are refused in SUBACK. */
  readonly maxSubscriptionsPerClient: number;
  /** Retained messages the broker keeps over all topics; a client retaining one more is disconnected. */
  readonly maxRetainedMessages: number;
  /** Longest client id. */
  readonly maxClientIdLength: number;
  /** How long a new connection has to send CONNECT. */
  readonly connectTimeoutMs: number;
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  maxPacketBytes: 1024 * 1024,
  maxConnections: 1000,
  maxQueuedBytesPerClient: 8 * 1024 * 1024,
  maxQueuedBeforeConnect: 42,
  maxInflightPerClient: 100,
  maxSubscriptionsPerClient: 100,
  maxRetainedMessages: 1000,
  maxClientIdLength: 128,
  connectTimeoutMs: 10_000,
};

export const DEFAULT_AUTH: BusAuthOptions = { users: {}, admins: [], acl: false };

/** Called with every message on an upload topic, for the cloud link. */
export type UpstreamHandler = (topic: string, payload: Uint8Array) => void;

export interface EventBusOptions {
  readonly mode: MqttMode;
  /** Where the built-in broker listens (modes 0 and 1), e.g. tcp://127.0.0.1:1884; port 0 picks one. */
  readonly internalUrl: string;
  /** The external broker edgecore connects to (modes 1 and 2), e.g. tcp://127.0.0.1:1883. */
  readonly externalUrl: string;
  /** QoS of what edgecore publishes and subscribes to. */
  readonly qos: Qos;
  readonly limits?: Partial<BrokerLimits>;
  /** Clients and ACL of the built-in broker. */
  readonly auth?: BusAuthOptions;
  /** edgecore's credentials on the external broker. */
  readonly username?: string;
  readonly password?: string;
  /** edgecore's client id on the external broker. */
  readonly clientId?: string;
  /** Delays between attempts to reach the external broker (default 1 s doubling to 30 s, jittered). */
  readonly externalReconnect?: { readonly initialMs: number; readonly capMs: number };
  readonly upstream?: UpstreamHandler;
  readonly log: Logger;
  readonly metrics?: Registry;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `tcp://HOST:PORT` (or mqtt://) as the built-in broker's listen address. Throws RangeError. */
export function listenAddress(url: string): HostPort {
  const match = /^(?:tcp|mqtt):\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})\/?$/.exec(url);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new RangeError(`Cannot listen on ${JSON.stringify(url)}: expected tcp://HOST:PORT`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/** The URL MQTT.js dials: KubeEdge writes tcp:// and ssl://, MQTT.js calls them mqtt:// and mqtts://. */
export function dialUrl(url: string): string {
  return url.replace(/^tcp:\/\//, "mqtt://").replace(/^ssl:\/\//, "mqtts://");
}
