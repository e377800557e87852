/**
 * CloudHub: the edge channel's cloud end (WebSocket over TLS, KubeEdge's :10000) and cloudcore's metrics
 * listener. The only public face of cloud/hub.
 */
export {
  type CloudHub,
  type DeliveryItem,
  NodeBusyError,
  type QueueStats,
  startCloudHub,
} from "./cloud_hub.ts";
export type { CloudHubOptions, CloudHubTls } from "./options.ts";
export { type EnqueueOutcome, QueueFullError } from "./send_queue.ts";
export { CLOSE_NOT_READING, CLOSE_REPLACED } from "./session.ts";
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from "./metrics_server.ts";
