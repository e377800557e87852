/** The EventBus: built-in MQTT broker, external broker client, ACL and limits. The public face of edge/bus. */
export { type EventBus, type MessageHandler, type PublishOptions, startEventBus } from "./event_bus.ts";
export {
  type BrokerLimits,
  DEFAULT_AUTH,
  DEFAULT_BROKER_LIMITS,
  type EventBusOptions,
  type HostPort,
  type MqttMode,
  type Qos,
  type UpstreamHandler,
} from "./options.ts";
export { type BusAuthOptions, type Identity } from "./acl.ts";
export {
  DEVICE_TOPIC_PREFIX,
  type DeviceTopic,
  deviceTopic,
  isUpstreamTopic,
  NODE_TOPIC_PREFIX,
  nodeTopic,
  parseDeviceTopic,
  topicMatches,
  UPSTREAM_FILTERS,
} from "./topic.ts";
export { eventBusOptionsFromConfig } from "./from_config.ts";
