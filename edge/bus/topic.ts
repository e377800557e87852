/**
 * MQTT topic names the EventBus knows: filter matching, the device and node topics of KubeEdge
 * (`$hw/events/device/<ns>/<name>/...`, `$hw/events/node/<node>/...`) and the topics forwarded upstream.
 */
import { isDns1123Label, isDns1123Subdomain } from "../../lib/protocol/mod.ts";

export const DEVICE_TOPIC_PREFIX = "$hw/events/device/";
export const NODE_TOPIC_PREFIX = "$hw/events/node/";
/** Topics whose messages go to the cloud unchanged (KubeEdge's EventBus forwards the same three). */
export const UPSTREAM_FILTERS = ["SYS/dis/upload_records", "+/user/#", "$hw/events/upload/#"] as const;
/** MQTT's own bound on a topic name, in UTF-8 bytes; we count characters, which is never more. */
export const MAX_TOPIC_LENGTH = 65535;

/** Whether `topic` matches `filter` (`+` one level, `#` the rest); `$` topics never match a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether `topic` is a valid name to publish to: non-empty, no wildcards, no NUL. */
export function isPublishTopic(topic: string): boolean {
  return topic.length > 0 && topic.length <= MAX_TOPIC_LENGTH && !/[+#]/.test(topic) && !topic.includes("\0");
}

/** Whether `filter` is a valid subscription filter (`#` only last, wildcards alone in their level). */
export function isTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > MAX_TOPIC_LENGTH || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every((level, i) =>
    (level === "#" && i === levels.length - 1) || level === "+" || !/[+#]/.test(level)
  );
}

export interface DeviceTopic {
  readonly namespace: string;
  readonly name: string;
  /** `<namespace>/<name>`: KubeEdge's device id on MQTT since 1.17. */
  readonly id: string;
  /** The rest after the device id, e.g. `twin/update`. */
  readonly rest: string;
}

/** Reads `$hw/events/device/<ns>/<name>/<rest>`; undefined when the topic is not one. */
export function parseDeviceTopic(topic: string): DeviceTopic | undefined {
  if (!topic.startsWith(DEVICE_TOPIC_PREFIX)) return undefined;
  const [namespace = "", name = "", ...rest] = topic.slice(DEVICE_TOPIC_PREFIX.length).split("/");
  if (!isDns1123Label(namespace) || !isDns1123Subdomain(name) || rest.length === 0) return undefined;
  return { namespace, name, id: `${namespace}/${name}`, rest: rest.join("/") };
}

/** `$hw/events/device/<ns>/<name>/<rest>`. */
export function deviceTopic(namespace: string, name: string, rest: string): string {
  return `${DEVICE_TOPIC_PREFIX}${namespace}/${name}/${rest}`;
}

/** `$hw/events/node/<node>/<rest>`. */
export function nodeTopic(node: string, rest: string): string {
  return `${NODE_TOPIC_PREFIX}${node}/${rest}`;
}

/** Whether a message on `topic` goes to the cloud (`upstream`). */
export function isUpstreamTopic(topic: string): boolean {
  return UPSTREAM_FILTERS.some((filter) => topicMatches(filter, topic));
}
