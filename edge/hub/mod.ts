/** EdgeHub: the edge end of the cloud-edge channel. The only public face of edge/hub. */
export { type EdgeHub, startEdgeHub } from "./edge_hub.ts";
export type { EdgeHubCredentials, EdgeHubOptions } from "./options.ts";
export { Backoff, type BackoffOptions, sleep } from "../../lib/backoff.ts";
export { offlineHub } from "./offline_hub.ts";
