/**
 * edge/server: edgecore's local servers. The kubelet-style server (127.0.0.1:10350: logs, exec, attach,
 * port-forward, stats) and the MetaServer (127.0.0.1:10550: a Kubernetes-compatible API from the store). See
 * docs/streaming.md.
 */
export { type KubeletServer, type KubeletServerOptions, startKubeletServer } from "./kubelet_server.ts";
export type { LocalPods } from "./pod_lookup.ts";
export { type CriLogRecord, parseCriLine, renderCriRecord } from "./cri_log.ts";
export { type MetaServer, type MetaServerOptions, startMetaServer } from "./meta_server.ts";
