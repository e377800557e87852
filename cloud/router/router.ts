/**
 * The Router (KubeEdge's cloud/pkg/router): Rules and RuleEndpoints watched from the apiserver (cloud/kube's
 * reflectors, which resume across watch expiry), routes kept in a RouteTable, the rest endpoint, the MQTT
 * subscriptions each node needs, and the edge's uploads and ServiceBus answers.
 *
 * ```ts
 * const router = createRouter({ kubeConfig, config: config.modules.router, hub, isEdgeNode, log, registry });
 * await router.start();
 * if (isRouterMessage(m)) return router.handleEdgeMessage(node, m);   // in the hub's message handler
 * router.onEdgeConnected(node);                                        // after each connect
 * ```
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import {
  BUS_SOURCE,
  contentText,
  type Message,
  parseHttpResponse,
  SERVICEBUS_SOURCE,
} from "../../lib/protocol/mod.ts";
import { MERGE_PATCH } from "../controllers/api_calls.ts";
import { withKinds } from "../controllers/informers.ts";
import { RULES_GROUP, RULES_VERSION } from "../crds/mod.ts";
import { apiStatusOf, type Reflector, reflectorsFor, type ReflectorTiming } from "../kube/mod.ts";
import { type RestServer, startRestServer } from "./rest_server.ts";
import { postToRest } from "./rest_target.ts";
import { RouteTable, subscriptionChanges } from "./route_table.ts";
import { routerMetrics } from "./router_metrics.ts";
import { RuleStatusWriter } from "./rule_status.ts";
import { keyOf, type Route, type RuleEndpointObject, type RuleObject } from "./rule_spec.ts";
import { ServiceCalls } from "./service_calls.ts";
import { subscribeMessage, unsubscribeMessage } from "./wire.ts";

export interface RouterConfig {
  readonly enable: boolean;
  readonly address: string;
  readonly port: number;
  /** Seconds. */
  readonly restTimeout: number;
  readonly maxBodyBytes: number;
  readonly maxPendingCalls: number;
}

export interface RouterHub {
  /** Writes `message` to the node's session now; throws when the node has none. */
  post(node: string, message: Message): void;
  isConnected(node: string): boolean;
}

export interface RouterOptions {
  readonly kubeConfig: KubeConfig;
  readonly config: RouterConfig;
  readonly hub: RouterHub;
  readonly isEdgeNode: (node: string) => boolean;
  readonly log: Logger;
  readonly registry: Registry;
  readonly reflectorTiming?: Partial<ReflectorTiming>;
  readonly statusIntervalMs?: number;
}

export interface Router {
  /** The rest endpoint's port once started (useful with port 0). */
  readonly port: number | undefined;
  /** Lists rules and endpoints, then listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  handleEdgeMessage(node: string, message: Message): Promise<Message | undefined>;
  onEdgeConnected(node: string): void;
}

/** Uploads the Router serves: MQTT messages of the box's `bus` and the ServiceBus's answers. */
export function isRouterMessage(message: Message): boolean {
  const { group, operation, source } = message.route;
  return group === "user" && operation === "upload" &&
    (source === BUS_SOURCE || source === SERVICEBUS_SOURCE);
}

export function createRouter(o: RouterOptions): Router {
  const log = o.log.child({ module: "router" });
  const metrics = routerMetrics(o.registry);
  const table = new RouteTable();
  const calls = new ServiceCalls(o.config.maxPendingCalls);
  const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
  const timeoutMs = o.config.restTimeout * 1000;
  let rest: RestServer | undefined;
  let stopped = false;
  let listed = false;
  /** POSTs to rest targets in flight. */
  let posting = 0;

  const make = reflectorsFor(o.kubeConfig, { log, registry: o.registry, timing: o.reflectorTiming });
  const reflect = <T extends RuleObject | RuleEndpointObject>(
    plural: string,
    kind: string,
    handler: (event: "add" | "update" | "delete", object: T) => void,
  ): Reflector<T> =>
    make<T>({
      resource: plural,
      path: `/apis/${RULES_GROUP}/${RULES_VERSION}/${plural}`,
      list: async () =>
        withKinds(
          await api.listClusterCustomObject({
            group: RULES_GROUP,
            version: RULES_VERSION,
            plural,
          }) as KubernetesListObject<T>,
          kind,
          `${RULES_GROUP}/${RULES_VERSION}`,
        ),
      handler,
    });

  const status = new RuleStatusWriter({
    current: (key) => {
      const rule = table.rule(key);
      if (!rule) return undefined;
      return { resourceVersion: rule.metadata?.resourceVersion ?? "0", status: rule.status ?? {} };
    },
    patch: async (key, body) => {
      const [namespace = "", name = ""] = key.split("/");
      const written = await api.patchNamespacedCustomObject({
        group: RULES_GROUP,
        version: RULES_VERSION,
        namespace,
        plural: "rules",
        name,
        body,
      }, MERGE_PATCH) as RuleObject;
      return { resourceVersion: written.metadata?.resourceVersion ?? "0", status: written.status ?? {} };
    },
    isGone: (error) => apiStatusOf(error) === 404,
    isConflict: (error) => apiStatusOf(error) === 409,
    log,
    intervalMs: o.statusIntervalMs,
    onWrite: (result) => metrics.statusWrites.inc({ result }),
  });

  const record = (route: Route, ok: boolean, error?: string) => {
    metrics.messages.inc({ route: route.kind.replace("->", "_"), result: ok ? "ok" : "fail" });
    status.record(route.rule, ok, error);
    if (!ok) log.debug("message not routed", { rule: route.rule, error });
  };

  const post = (node: string, message: Message) => {
    if (!o.hub.isConnected(node)) throw new Error(`node ${node} is not connected`);
    o.hub.post(node, message);
  };

  /** Applies a change of the table: new or dropped subscriptions go to connected nodes. */
  const change = (apply: () => void) => {
    const before = table.subscriptions();
    apply();
    metrics.routes.set(table.routeCount);
    if (!listed) return;
    for (const { node, subscribe, unsubscribe } of subscriptionChanges(before, table.subscriptions())) {
      if (!o.hub.isConnected(node)) continue;
      try {
        for (const topic of unsubscribe) post(node, unsubscribeMessage(topic));
        for (const topic of subscribe) post(node, subscribeMessage(topic));
      } catch (error) {
        log.warn("subscription not sent", { node, error });
      }
    }
  };

  const checkRule = (key: string) => {
    const resolved = table.resolved(key);
    if (resolved && !resolved.ok) {
      log.warn("rule not routed", { rule: key, why: resolved.error });
      status.configError(key, resolved.error);
    }
  };

  const endpoints = reflect<RuleEndpointObject>("ruleendpoints", "RuleEndpoint", (event, endpoint) => {
    change(() => event === "delete" ? table.deleteEndpoint(endpoint) : table.setEndpoint(endpoint));
    for (const key of rulesIn(endpoint.metadata?.namespace)) checkRule(key);
  });
  const rules = reflect<RuleObject>("rules", "Rule", (event, rule) => {
    const key = keyOf(rule);
    if (event === "delete") {
      change(() => table.deleteRule(rule));
      status.forget(key);
      log.info("rule removed", { rule: key });
      return;
    }
    const had = table.resolved(key);
    change(() => table.setRule(rule));
    const now = table.resolved(key);
    if (now?.ok && (!had?.ok || had.route.kind !== now.route.kind)) {
      log.info("rule routed", { rule: key, route: now.route.kind });
    }
    checkRule(key);
  });
  const rulesIn = (namespace: string | undefined) =>
    rules.store.list(namespace).map((r) => keyOf(r)).filter((k) => table.resolved(k) !== undefined);

  const uploadToRest = (node: string, message: Message) => {
    const topic = message.route.resource;
    const routes = table.matchUpload(node, topic);
    if (routes.length === 0) {
      metrics.refused.inc({ reason: "no_rule" });
      log.debug("upload not routed: no rule", { node, topic: topic.slice(0, 300) });
      return;
    }
    const body = new TextEncoder().encode(contentText(message.content));
    if (body.byteLength > o.config.maxBodyBytes) {
      metrics.refused.inc({ reason: "too_large" });
      for (const route of routes) {
        record(route, false, `Cannot route ${topic}: over ${o.config.maxBodyBytes} bytes`);
      }
      return;
    }
    // Not awaited: a slow rest target must not hold the node's message lanes (its pod and node traffic, and
    // with a full inbox the socket itself). Bounded instead: past maxPendingCalls POSTs in flight, refused.
    for (const route of routes) {
      if (posting >= o.config.maxPendingCalls) {
        metrics.refused.inc({ reason: "too_many_calls" });
        record(route, false, `Cannot POST to ${route.url}: ${posting} POSTs are waiting, the limit`);
        continue;
      }
      posting++;
      void postToRest(route.url, node, body, { timeoutMs, maxAnswerBytes: o.config.maxBodyBytes })
        .then((outcome) => record(route, outcome.ok, outcome.ok ? undefined : outcome.error))
        .finally(() => posting--);
    }
  };

  const serviceAnswer = (node: string, message: Message) => {
    const parent = message.header.parent_msg_id;
    if (parent === undefined) {
      metrics.refused.inc({ reason: "unmatched_answer" });
      return;
    }
    const outcome = calls.answer(
      parent,
      node,
      () => parseHttpResponse(message.content, o.config.maxBodyBytes),
    );
    if (outcome === "answered") return;
    metrics.refused.inc({ reason: outcome === "other_node" ? "other_node" : "unmatched_answer" });
    if (outcome === "other_node") {
      log.warn("servicebus answer refused", { node, parent, why: "the call went to another node" });
    } else log.debug("servicebus answer unmatched", { node, parent });
  };

  return {
    get port() {
      return rest?.port;
    },
    async start() {
      await endpoints.start();
      await rules.start();
      listed = true;
      metrics.routes.set(table.routeCount);
      if (stopped) return;
      rest = await startRestServer({
        address: o.config.address,
        port: o.config.port,
        log,
        maxBodyBytes: o.config.maxBodyBytes,
        timeoutMs,
        table,
        calls,
        isEdgeNode: o.isEdgeNode,
        isConnected: (node) => o.hub.isConnected(node),
        post,
        record,
        refused: (reason) => metrics.refused.inc({ reason }),
      });
      for (const node of table.subscriptions().keys()) this.onEdgeConnected(node);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      calls.cancelAll(new Error("Cannot call: cloudcore is stopping"));
      await rest?.close();
      await Promise.all([rules.stop(), endpoints.stop()]);
      await status.stop();
    },
    handleEdgeMessage(node, message) {
      // Keyed by the session's node: an edge uploads and answers only for itself.
      if (message.route.source === SERVICEBUS_SOURCE) serviceAnswer(node, message);
      else uploadToRest(node, message);
      return Promise.resolve(undefined);
    },
    onEdgeConnected(node) {
      if (!listed || !o.hub.isConnected(node)) return;
      const topics = table.subscriptions().get(node);
      if (!topics) return;
      try {
        for (const topic of topics) post(node, subscribeMessage(topic));
      } catch (error) {
        log.warn("subscription not sent", { node, error });
      }
    },
  };
}
