/**
 * edge/cri: a CRI v1 client for containerd (RuntimeService + ImageService) over a unix socket, with a
 * deadline on every call and a reply size limit. The protocol subset is embedded in proto.ts.
 */
export {
  type CallOptions,
  createCriClient,
  type CriClient,
  type CriClientOptions,
  CriError,
  DEFAULT_CRI_MAX_RECEIVE_BYTES,
  DEFAULT_CRI_TIMEOUT_MS,
  GRPC_STATUS,
} from "./client.ts";
export type * from "./types.ts";
/** The small proto3-text reader the CRI client uses; edge/dmi loads the DMI protocol with it too. */
export { type ProtoJson, protoToJson } from "./proto_json.ts";
