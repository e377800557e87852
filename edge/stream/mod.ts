/**
 * edge/stream: the edge end of the logs/exec tunnel. edgecore dials cloudcore's tunnel port with its node
 * certificate; requests the cloud sends over it go to the kubelet-style server on the box. See
 * docs/streaming.md.
 */
export {
  startStreamTunnel,
  type StreamTunnel,
  type StreamTunnelOptions,
  TUNNEL_PATH,
  type TunnelPeer,
  type TunnelTls,
} from "./tunnel_client.ts";
export type { MuxOptions } from "../../lib/tunnel/mux.ts";
