/**
 * How two kedge ends agree on kedge's multiplexer (mux.ts) instead of KubeEdge's framing (kubeedge_frame.ts):
 * the edge's upgrade request carries this header, and kedge's cloud echoes it in its 101. KubeEdge's cloud
 * ignores it (no echo: the edge speaks KubeEdge's framing); KubeEdge's edge never sends it (the cloud does).
 */
export const KEDGE_TUNNEL_HEADER = "x-kedge-tunnel";
export const KEDGE_TUNNEL_MUX = "mux/1";
