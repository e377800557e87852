/** CloudHub's Prometheus series. Created once per registry, so a restarted hub reuses them. */
import { type Counter, type Gauge, Registry } from "../../lib/metrics.ts";
import { isKnownOperation } from "../../lib/protocol/mod.ts";

export interface HubMetrics {
  readonly connectedNodes: Gauge;
  /** direction "in" | "out", operation (unknown operations count as "other"). */
  readonly messages: Counter;
  readonly pendingAcks: Gauge;
  readonly queueDepth: Gauge;
  /** reason: a decode error code, "too_large" for a frame over maxPayload, "handler_busy"... */
  readonly framesRejected: Counter;
  /** reason: "tls", "identity", "node_mismatch", "node_limit". */
  readonly connectionsRefused: Counter;
  /** reason: "queue_full". */
  readonly sendsRefused: Counter;
  /** Adds a source of queue figures, summed at scrape time; returns its removal. */
  addQueueSource(source: () => QueueFigures): () => void;
}

export interface QueueFigures {
  readonly queued: number;
  readonly unacked: number;
}

const byRegistry = new WeakMap<Registry, HubMetrics>();

export function hubMetrics(registry: Registry): HubMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const sources = new Set<() => QueueFigures>();
  const metrics: HubMetrics = {
    connectedNodes: registry.gauge("kedge_cloudhub_connected_nodes", "Edge nodes with an open session."),
    messages: registry.counter("kedge_cloudhub_messages_total", "Messages by direction and operation."),
    pendingAcks: registry.gauge("kedge_cloudhub_pending_acks", "Deliveries written and not yet acked."),
    queueDepth: registry.gauge(
      "kedge_cloudhub_queue_depth",
      "Deliveries queued for all nodes, acked or not.",
    ),
    framesRejected: registry.counter("kedge_cloudhub_frames_rejected_total", "Frames refused, by reason."),
    connectionsRefused: registry.counter(
      "kedge_cloudhub_connections_refused_total",
      "Connections or upgrades refused, by reason.",
    ),
    sendsRefused: registry.counter("kedge_cloudhub_sends_refused_total", "Deliveries refused, by reason."),
    addQueueSource(source) {
      sources.add(source);
      return () => void sources.delete(source);
    },
  };
  registry.onCollect(() => {
    let queued = 0;
    let unacked = 0;
    for (const source of sources) {
      const figures = source();
      queued += figures.queued;
      unacked += figures.unacked;
    }
    metrics.queueDepth.set(queued);
    metrics.pendingAcks.set(unacked);
  });
  byRegistry.set(registry, metrics);
  return metrics;
}

/** A bounded label value for a peer-controlled operation string. */
export function operationLabel(operation: string): string {
  return isKnownOperation(operation) ? operation : "other";
}
