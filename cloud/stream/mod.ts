/**
 * cloud/stream: logs, exec, attach and stats for edge pods. The tunnel server (10004) holds one outbound
 * tunnel per edge node; the stream server (10003 and one port per node) is what kube-apiserver calls as the
 * node's kubelet, and carries each request over the tunnel, or to the replica holding it. See
 * docs/streaming.md.
 */
export { startTunnelServer, type TunnelServer, type TunnelServerOptions } from "./tunnel_server.ts";
export { startStreamServer, type StreamServer, type StreamServerOptions } from "./stream_server.ts";
export { NODE_HEADER, type PeerTls } from "./forward.ts";
export {
  LEASE_PREFIX,
  PORTS_CONFIGMAP,
  startStreamCoordinator,
  type StreamCoordinator,
  type StreamCoordinatorOptions,
} from "./coordinator.ts";
