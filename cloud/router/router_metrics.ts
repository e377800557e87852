/** The Router's Prometheus metrics (labels from closed sets only). */
import type { Counter, Gauge, Registry } from "../../lib/metrics.ts";

export interface RouterMetrics {
  /** route = rest_eventbus | eventbus_rest | rest_servicebus, result = ok | fail. */
  readonly messages: Counter;
  /** reason: bad_path, no_rule, unknown_node, node_not_connected, too_large, bad_body, too_many_calls, timeout,
   * node_busy, other_node, unmatched_answer. */
  readonly refused: Counter;
  readonly routes: Gauge;
  /** result = ok | conflict | error. */
  readonly statusWrites: Counter;
}

const byRegistry = new WeakMap<Registry, RouterMetrics>();

export function routerMetrics(registry: Registry): RouterMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  m = {
    messages: registry.counter(
      "kedge_cloud_router_messages_total",
      "Messages the Router moved (ok) or could not move (fail), by route.",
    ),
    refused: registry.counter(
      "kedge_cloud_router_refused_total",
      "Rest calls, uploads and ServiceBus answers the Router refused, by reason.",
    ),
    routes: registry.gauge("kedge_cloud_router_routes", "Rules the Router routes now."),
    statusWrites: registry.counter(
      "kedge_cloud_router_status_writes_total",
      "Rule.status writes, by result.",
    ),
  };
  byRegistry.set(registry, m);
  return m;
}
