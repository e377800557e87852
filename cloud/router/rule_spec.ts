/**
 * Rule and RuleEndpoint objects (rules.kubeedge.io/v1) read into one of the three routes KubeEdge documents:
 * rest -> eventbus, eventbus -> rest, rest -> servicebus. What KubeEdge reads from each map
 * (cloud/pkg/router/provider): rest source `path`; eventbus source `topic`, `node_name`; eventbus target
 * `topic`; rest target `resource` (a URL); servicebus target `path`, with the endpoint's `service_port`.
 * A rule that cannot be read is not routed; its reason goes into Rule.status.errors.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { isDns1123Subdomain } from "../../lib/protocol/mod.ts";
import { normalizeRulePath } from "./rest_path.ts";

export type EndpointType = "rest" | "eventbus" | "servicebus";

export interface RuleEndpointObject extends KubernetesObject {
  spec?: { ruleEndpointType?: string; properties?: Record<string, string> };
}

export interface RuleStatus {
  successMessages?: number;
  failMessages?: number;
  errors?: string[] | null;
}

export interface RuleObject extends KubernetesObject {
  spec?: {
    source?: string;
    sourceResource?: Record<string, string>;
    target?: string;
    targetResource?: Record<string, string>;
  };
  status?: RuleStatus;
}

interface RouteBase {
  /** `<namespace>/<name>` of the Rule. */
  readonly rule: string;
  readonly namespace: string;
}

export interface RestToEventBus extends RouteBase {
  readonly kind: "rest->eventbus";
  /** The rule's path without leading or trailing slashes, `{param}` levels allowed. */
  readonly path: string;
  /** Published to `topic`, or `topic/<rest of the request path>`. */
  readonly topic: string;
}

export interface RestToServiceBus extends RouteBase {
  readonly kind: "rest->servicebus";
  readonly path: string;
  readonly servicePort: number;
  /** Called on the box as `http://127.0.0.1:<servicePort><targetPath>[/<rest of the request path>]`. */
  readonly targetPath: string;
}

export interface EventBusToRest extends RouteBase {
  readonly kind: "eventbus->rest";
  readonly node: string;
  /** The MQTT topic subscribed to on the box: `<namespace>/<topic>`, as KubeEdge subscribes. */
  readonly topic: string;
  readonly url: string;
}

export type Route = RestToEventBus | RestToServiceBus | EventBusToRest;

export type Resolved = { readonly ok: true; readonly route: Route } | {
  readonly ok: false;
  readonly error: string;
};

/** The endpoints of a namespace by name. */
export type EndpointLookup = (namespace: string, name: string) => RuleEndpointObject | undefined;

const MAX_TOPIC_LENGTH = 1024;

export function keyOf(o: KubernetesObject): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

export function resolveRule(rule: RuleObject, endpoints: EndpointLookup): Resolved {
  const namespace = rule.metadata?.namespace ?? "";
  const key = keyOf(rule);
  const fail = (why: string): Resolved => ({ ok: false, error: `Cannot route rule ${key}: ${why}` });
  const spec = rule.spec ?? {};
  const source = endpointType(endpoints(namespace, spec.source ?? ""));
  if (!source.ok) return fail(`source rule endpoint ${namespace}/${spec.source ?? ""} ${source.why}`);
  const target = endpointType(endpoints(namespace, spec.target ?? ""));
  if (!target.ok) return fail(`target rule endpoint ${namespace}/${spec.target ?? ""} ${target.why}`);
  const from = spec.sourceResource ?? {};
  const to = spec.targetResource ?? {};
  const base = { rule: key, namespace };
  const pair = `${source.type}->${target.type}`;
  switch (pair) {
    case "rest->eventbus": {
      const path = restPath(from.path);
      if (!path.ok) return fail(path.why);
      const topic = publishTopic(to.topic, "targetResource.topic");
      if (!topic.ok) return fail(topic.why);
      return { ok: true, route: { ...base, kind: pair, path: path.value, topic: topic.value } };
    }
    case "rest->servicebus": {
      const path = restPath(from.path);
      if (!path.ok) return fail(path.why);
      const targetPath = to.path;
      if (typeof targetPath !== "string" || !targetPath.startsWith("/") || /[\s?#]/.test(targetPath)) {
        return fail("targetResource.path must be a path starting with / (no spaces, ? or #)");
      }
      const portText = target.endpoint.spec?.properties?.service_port;
      const port = Number(portText);
      if (typeof portText !== "string" || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
        return fail(`servicebus endpoint ${namespace}/${spec.target} needs properties.service_port 1-65535`);
      }
      return {
        ok: true,
        route: { ...base, kind: pair, path: path.value, servicePort: port, targetPath },
      };
    }
    case "eventbus->rest": {
      const node = from.node_name;
      if (typeof node !== "string" || !isDns1123Subdomain(node)) {
        return fail("sourceResource.node_name must be a node name");
      }
      const topic = publishTopic(from.topic, "sourceResource.topic");
      if (!topic.ok) return fail(topic.why);
      const url = restUrl(to.resource);
      if (!url.ok) return fail(url.why);
      return {
        ok: true,
        route: { ...base, kind: pair, node, topic: `${namespace}/${topic.value}`, url: url.value },
      };
    }
    default:
      return fail(`${pair} is not a route (rest->eventbus, eventbus->rest and rest->servicebus are)`);
  }
}

type Check<T> = { ok: true; value: T } | { ok: false; why: string };

function endpointType(
  endpoint: RuleEndpointObject | undefined,
): { ok: true; type: EndpointType; endpoint: RuleEndpointObject } | { ok: false; why: string } {
  if (!endpoint) return { ok: false, why: "does not exist" };
  const type = endpoint.spec?.ruleEndpointType;
  if (type === "rest" || type === "eventbus" || type === "servicebus") return { ok: true, type, endpoint };
  return { ok: false, why: `has an unknown ruleEndpointType ${JSON.stringify(type)}` };
}

function restPath(path: string | undefined): Check<string> {
  if (typeof path !== "string") return { ok: false, why: "sourceResource.path is missing" };
  const normalized = normalizeRulePath(path);
  if (normalized === undefined) {
    return { ok: false, why: "sourceResource.path must be a non-empty URL path (no spaces, ? or #)" };
  }
  return { ok: true, value: normalized };
}

function publishTopic(topic: string | undefined, what: string): Check<string> {
  if (typeof topic !== "string" || topic === "" || topic.length > MAX_TOPIC_LENGTH || /[+#\0]/.test(topic)) {
    return { ok: false, why: `${what} must be an MQTT topic without wildcards` };
  }
  return { ok: true, value: topic };
}

function restUrl(resource: string | undefined): Check<string> {
  try {
    const url = new URL(resource ?? "");
    if (url.protocol === "http:" || url.protocol === "https:") return { ok: true, value: url.href };
  } catch {
    // below
  }
  return { ok: false, why: "targetResource.resource must be an http:// or https:// URL" };
}
