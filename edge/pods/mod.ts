/**
 * edge/pods: runs v1 Pods on containerd through CRI. Sources (static manifests now, the store later) feed
 * a sync loop with one worker per pod UID; a relist of CRI state wakes the workers; a status manager sends
 * status changes to a sink. See docs/pods.md.
 */
export { type PodManager, type PodManagerOptions, startPodManager } from "./manager.ts";
export type { PodSource, PodUpdate } from "./source.ts";
export { staticPodSource, type StaticPodSourceOptions } from "./static_source.ts";
export type { PodStatusSink } from "./status_manager.ts";
export type { BoundTokenRequest, ConfigMapData, ObjectKind, ObjectLookup, SecretData } from "./objects.ts";
export { NO_OBJECTS } from "./objects.ts";
export { type ServiceInfo, serviceInfoOf } from "./service_env.ts";
export { parsePod, type Pod, PodSchema } from "./pod_schema.ts";
export type * from "./status_types.ts";
export type { GcOptions, GcReport } from "./gc.ts";
