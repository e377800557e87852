/**
 * The routes in force, from the Rules and RuleEndpoints the informers hold: a rule is re-read whenever it or
 * an endpoint changes. Lookups for the rest listener (namespace + path levels) and for uploads from a node
 * (node + topic); the MQTT topics each node must subscribe to. Pure: no I/O.
 */
import { appendLevels, matchRulePath } from "./rest_path.ts";
import {
  type EventBusToRest,
  keyOf,
  type Resolved,
  resolveRule,
  type RestToEventBus,
  type RestToServiceBus,
  type RuleEndpointObject,
  type RuleObject,
} from "./rule_spec.ts";

export interface RestMatch {
  readonly route: RestToEventBus | RestToServiceBus;
  /** The target with the rest of the request path appended: topic or servicebus path (with the query). */
  readonly target: string;
}

export class RouteTable {
  readonly #endpoints = new Map<string, RuleEndpointObject>();
  readonly #rules = new Map<string, RuleObject>();
  readonly #resolved = new Map<string, Resolved>();

  setEndpoint(endpoint: RuleEndpointObject): void {
    this.#endpoints.set(keyOf(endpoint), endpoint);
    this.#resolveNamespace(endpoint.metadata?.namespace ?? "");
  }

  deleteEndpoint(endpoint: RuleEndpointObject): void {
    this.#endpoints.delete(keyOf(endpoint));
    this.#resolveNamespace(endpoint.metadata?.namespace ?? "");
  }

  setRule(rule: RuleObject): void {
    const key = keyOf(rule);
    this.#rules.set(key, rule);
    this.#resolved.set(key, resolveRule(rule, this.#lookup));
  }

  deleteRule(rule: RuleObject): void {
    const key = keyOf(rule);
    this.#rules.delete(key);
    this.#resolved.delete(key);
  }

  /** The rule's route, or why it has none; undefined for a rule not held. */
  resolved(ruleKey: string): Resolved | undefined {
    return this.#resolved.get(ruleKey);
  }

  rule(ruleKey: string): RuleObject | undefined {
    return this.#rules.get(ruleKey);
  }

  get routeCount(): number {
    let n = 0;
    for (const r of this.#resolved.values()) if (r.ok) n++;
    return n;
  }

  /** The rest route for a request to `namespace` with path `levels`: the longest matching rule path wins. */
  matchRest(namespace: string, levels: readonly string[], query: string): RestMatch | undefined {
    let best:
      | { route: RestToEventBus | RestToServiceBus; score: number; rest: readonly string[] }
      | undefined;
    for (const r of this.#resolved.values()) {
      if (!r.ok || r.route.namespace !== namespace) continue;
      const route = r.route;
      if (route.kind !== "rest->eventbus" && route.kind !== "rest->servicebus") continue;
      const m = matchRulePath(route.path, levels);
      if (m && (!best || m.score > best.score || (m.score === best.score && route.rule < best.route.rule))) {
        best = { route, score: m.score, rest: m.rest };
      }
    }
    if (!best) return undefined;
    const { route, rest } = best;
    return route.kind === "rest->eventbus"
      ? { route, target: appendLevels(route.topic, rest) }
      : { route, target: appendLevels(route.targetPath, rest) + query };
  }

  /** The eventbus -> rest routes of `node` for an upload on `topic`. */
  matchUpload(node: string, topic: string): EventBusToRest[] {
    const found: EventBusToRest[] = [];
    for (const r of this.#resolved.values()) {
      if (r.ok && r.route.kind === "eventbus->rest" && r.route.node === node && r.route.topic === topic) {
        found.push(r.route);
      }
    }
    return found;
  }

  /** node -> the MQTT topics it must subscribe to for the eventbus -> rest routes. */
  subscriptions(): Map<string, Set<string>> {
    const byNode = new Map<string, Set<string>>();
    for (const r of this.#resolved.values()) {
      if (!r.ok || r.route.kind !== "eventbus->rest") continue;
      let topics = byNode.get(r.route.node);
      if (!topics) byNode.set(r.route.node, topics = new Set());
      topics.add(r.route.topic);
    }
    return byNode;
  }

  readonly #lookup = (namespace: string, name: string) => this.#endpoints.get(`${namespace}/${name}`);

  #resolveNamespace(namespace: string): void {
    for (const [key, rule] of this.#rules) {
      if (rule.metadata?.namespace === namespace) this.#resolved.set(key, resolveRule(rule, this.#lookup));
    }
  }
}

/** What changed between two subscription maps: per node the topics to subscribe to and to drop. */
export function subscriptionChanges(
  before: Map<string, Set<string>>,
  after: Map<string, Set<string>>,
): Array<{ node: string; subscribe: string[]; unsubscribe: string[] }> {
  const nodes = new Set([...before.keys(), ...after.keys()]);
  const changes = [];
  for (const node of nodes) {
    const was = before.get(node) ?? new Set<string>();
    const is = after.get(node) ?? new Set<string>();
    const subscribe = [...is].filter((t) => !was.has(t));
    const unsubscribe = [...was].filter((t) => !is.has(t));
    if (subscribe.length + unsubscribe.length > 0) changes.push({ node, subscribe, unsubscribe });
  }
  return changes;
}
