/** EventBusOptions from edgecore.yaml's `modules.eventBus`, with edge/bus's defaults for what is left out. */
import type { EdgeCoreConfig } from "../config.ts";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import {
  DEFAULT_AUTH,
  DEFAULT_BROKER_LIMITS,
  type EventBusOptions,
  type UpstreamHandler,
} from "./options.ts";

export function eventBusOptionsFromConfig(
  eventBus: EdgeCoreConfig["modules"]["eventBus"],
  deps: { log: Logger; node: string; upstream?: UpstreamHandler; metrics?: Registry },
): EventBusOptions {
  return {
    mode: eventBus.mqttMode,
    internalUrl: eventBus.mqttServerInternal,
    externalUrl: eventBus.mqttServerExternal,
    qos: eventBus.mqttQOS,
    username: eventBus.username,
    password: eventBus.password,
    clientId: `edgecore-${deps.node}`.slice(0, DEFAULT_BROKER_LIMITS.maxClientIdLength),
    limits: {
      maxPacketBytes: eventBus.maxPacketBytes ?? DEFAULT_BROKER_LIMITS.maxPacketBytes,
      maxConnections: eventBus.maxConnections ?? DEFAULT_BROKER_LIMITS.maxConnections,
      maxQueuedBytesPerClient: eventBus.maxQueuedBytesPerClient ??
        DEFAULT_BROKER_LIMITS.maxQueuedBytesPerClient,
    },
    auth: {
      users: eventBus.users ?? DEFAULT_AUTH.users,
      admins: eventBus.admins ?? DEFAULT_AUTH.admins,
      acl: eventBus.acl ?? DEFAULT_AUTH.acl,
    },
    upstream: deps.upstream,
    log: deps.log,
    metrics: deps.metrics,
  };
}
