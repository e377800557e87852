/**
 * cloudcore's controllers for edge nodes: pods, ConfigMaps, Secrets and Nodes down to the edge through the
 * hub's delivery queues, resync on connect, and the edge's requests to the apiserver behind node
 * authorization. The only public face of cloud/controllers.
 */
export {
  createEdgeControllers,
  type EdgeControllers,
  type EdgeControllersOptions,
} from "./edge_controllers.ts";
export type { Delivery, Downstream } from "./types.ts";
export { DEFAULT_FULL_SYNC_GRACE_MS } from "./resync.ts";
export { MAX_REQUEST_CONTENT_BYTES } from "./edge_requests.ts";
export {
  type HeldObject,
  MAX_SYNC_OBJECTS,
  MAX_SYNC_REPORT_BYTES,
  SYNC_REPORT_OPERATION,
  SYNC_REPORT_SOURCE,
  SYNC_REPORT_TYPE,
  syncReportResource,
} from "./sync_report.ts";
export { AGENT_NODE_LABEL, EDGE_NODE_LABEL } from "./node_labels.ts";
