/**
 * The built-in broker (mode 0 and 1): aedes on node:net. Limits come from one BrokerLimits object; auth and
 * ACL from acl.ts. edgecore itself talks to it in-process (no socket, no credentials): `publish` and
 * `subscribe` below. In-process subscribers see only messages from network clients, never edgecore's own.
 */
import { Aedes, type AuthenticateError, type Client } from "aedes";
import { createServer, type Server, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import {
  type BusAuthOptions,
  checkCredentials,
  identify,
  type Identity,
  maySubscribe,
  mayUse,
} from "./acl.ts";
import type { BrokerLimits, HostPort, Qos } from "./options.ts";
import { GuardedConnection } from "./packet_guard.ts";

export interface BrokerOptions {
  readonly listen: HostPort;
  readonly limits: BrokerLimits;
  readonly auth: BusAuthOptions;
  readonly log: Logger;
  readonly metrics?: Registry;
}

export type Delivery = (topic: string, payload: Uint8Array) => void;

export interface BuiltinBroker {
  /** Where it listens; the real port when 0 was asked for. */
  readonly address: HostPort;
  readonly connectedClients: number;
  publish(topic: string, payload: Uint8Array, qos: Qos): Promise<void>;
  /** Delivers client messages matching `filter`; returns the unsubscribe. */
  subscribe(filter: string, deliver: Delivery): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

interface AedesPacketLike {
  topic: string;
  payload: Uint8Array | string;
  clientId?: string;
}

const BAD_CREDENTIALS = 4;

export async function startBroker(options: BrokerOptions): Promise<BuiltinBroker> {
  const { limits, auth, log } = options;
  const identities = new WeakMap<Client, Identity>();
  const retained = new Set<string>();
  const rejected = options.metrics?.counter(
    "kedge_eventbus_rejected_total",
    "Clients or packets the built-in MQTT broker refused, by reason",
  );
  const reject = (reason: string, fields: Record<string, unknown>) => {
    rejected?.inc({ reason });
    log.warn("mqtt client refused", { reason, ...fields });
  };

  const aedes = new Aedes({
    queueLimit: limits.maxQueuedBeforeConnect,
    maxInflightInbound: limits.maxInflightPerClient,
    maxClientsIdLength: limits.maxClientIdLength,
    connectTimeout: limits.connectTimeoutMs,
    preConnect(_client, packet, callback) {
      // No session outlives its connection: an offline session queues without bound.
      packet.clean = true;
      callback(null, true);
    },
    authenticate(client, username, password, done) {
      if (!checkCredentials(auth, username, password)) {
        reject("credentials", { client: client.id, username });
        const error = new Error("Cannot connect: bad user name or password") as AuthenticateError;
        (error as { returnCode: number }).returnCode = BAD_CREDENTIALS;
        return done(error, false);
      }
      identities.set(client, identify(auth, username));
      done(null, true);
    },
    authorizePublish(client, packet, callback) {
      if (packet.topic.startsWith("$SYS/")) return callback(new Error("Cannot publish: $SYS is reserved"));
      if (client) {
        const who = identities.get(client) ?? { kind: "other" as const };
        if (!mayUse(who, packet.topic)) {
          reject("acl", { client: client.id, topic: packet.topic });
          return callback(new Error(`Cannot publish to ${packet.topic}: not allowed for this client`));
        }
      }
      if (packet.retain) {
        if (packet.payload.length === 0) retained.delete(packet.topic);
        else if (!retained.has(packet.topic)) {
          if (retained.size >= limits.maxRetainedMessages) {
            reject("retained", { client: client?.id, topic: packet.topic });
            return callback(new Error("Cannot retain message: the broker holds maxRetainedMessages"));
          }
          retained.add(packet.topic);
        }
      }
      callback(null);
    },
    authorizeSubscribe(client, subscription, callback) {
      const who = identities.get(client) ?? { kind: "other" as const };
      const held = Object.keys((client as unknown as { subscriptions: object }).subscriptions).length;
      if (!maySubscribe(who, subscription.topic) || held >= limits.maxSubscriptionsPerClient) {
        reject(held >= limits.maxSubscriptionsPerClient ? "subscriptions" : "acl", {
          client: client.id,
          filter: subscription.topic,
        });
        return callback(null, null);
      }
      callback(null, subscription);
    },
    authorizeForward(client, packet) {
      const who = identities.get(client) ?? { kind: "other" as const };
      if (!mayUse(who, packet.topic)) return null;
      return packet;
    },
  });
  await aedes.listen();
  aedes.on("clientError", (client: Client, error: Error) => {
    log.debug("mqtt client error", { client: client.id, error: error.message });
  });

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    if (sockets.size >= limits.maxConnections) {
      reject("connections", { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    const remote = socket.remoteAddress;
    const guardLimits = {
      maxPacketBytes: limits.maxPacketBytes,
      maxQueuedBytes: limits.maxQueuedBytesPerClient,
    };
    aedes.handle(
      new GuardedConnection(socket, guardLimits, {
        onOversize: (size) => reject("packet-size", { remote, size, maxPacketBytes: limits.maxPacketBytes }),
        onSlowReader: (queuedBytes) => reject("slow-consumer", { remote, queuedBytes }),
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = { host: options.listen.host, port: typeof bound === "object" && bound ? bound.port : 0 };
  log.info("mqtt broker listening", { host: address.host, port: address.port });

  return {
    address,
    get connectedClients() {
      return aedes.connectedClients;
    },
    publish(topic, payload, qos) {
      return new Promise((resolve, reject) => {
        aedes.publish(
          { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false },
          (error) => error ? reject(error) : resolve(),
        );
      });
    },
    async subscribe(filter, deliver) {
      const listener = (packet: AedesPacketLike, done: () => void) => {
        if (packet.clientId !== undefined) {
          const payload = typeof packet.payload === "string"
            ? new TextEncoder().encode(packet.payload)
            : packet.payload;
          deliver(packet.topic, payload);
        }
        done();
      };
      await new Promise<void>((resolve) => aedes.subscribe(filter, listener as never, resolve));
      return () => new Promise<void>((resolve) => aedes.unsubscribe(filter, listener as never, resolve));
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closed;
      log.info("mqtt broker stopped", { port: address.port });
    },
  };
}
