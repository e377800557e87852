/**
 * The KubeEdge wire protocol: the message envelope, its builders, resource strings, valibot schemas and
 * the frame codec. The only public face of lib/protocol.
 */
export {
  type Group,
  GROUPS,
  type Header,
  isKnownGroup,
  isKnownOperation,
  type Message,
  type Operation,
  OPERATIONS,
  type Result,
  type Route,
} from "./types.ts";
export {
  ACK_CONTENT,
  ackOf,
  errorTo,
  keepaliveMessage,
  newMessage,
  type NewMessageInit,
  responseTo,
} from "./message.ts";
export {
  buildDeviceResource,
  buildResource,
  buildTwinResource,
  CLUSTER_NAMESPACE,
  type DeviceResource,
  formatResource,
  MAX_RESOURCE_LENGTH,
  MEMBERSHIP_RESOURCE,
  type MembershipResource,
  type ObjectResource,
  type ParsedResource,
  parseResource,
  parseTwinResource,
  TWIN_CLOUD_UPDATED,
  TWIN_EDGE_UPDATED,
  type TwinResource,
} from "./resource.ts";
export { isDns1123Label, isDns1123Subdomain } from "./names.ts";
export {
  compareResourceVersion,
  isResourceVersion,
  MAX_RESOURCE_VERSION_LENGTH,
} from "./resource_version.ts";
export {
  describeIssues,
  HeaderSchema,
  MAX_ID_LENGTH,
  MAX_TOKEN_LENGTH,
  MessageSchema,
  RouteSchema,
} from "./schema.ts";
export {
  type CodecOptions,
  decode,
  DecodeError,
  type DecodeErrorCode,
  type DecodeResult,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_DEPTH,
  encode,
  utf8ByteLength,
} from "./codec.ts";
export { PendingRequests } from "./pending_requests.ts";
export { toFrame } from "./ws_data.ts";
export { type ReplyOutcome, replyOutcome } from "./reply_outcome.ts";
export {
  BUS_SOURCE,
  contentText,
  type HttpHeader,
  httpRequestContent,
  type HttpRequestWire,
  httpResponseContent,
  type HttpResponseWire,
  MAX_HEADERS,
  parseHttpRequest,
  parseHttpResponse,
  ROUTER_EVENTBUS_SOURCE,
  ROUTER_SERVICEBUS_SOURCE,
  SERVICEBUS_SOURCE,
  SERVICEBUS_START,
  SERVICEBUS_STOP,
} from "./http_wire.ts";
export {
  type Application,
  APPLICATION_GROUP,
  APPLICATION_REQUEST_OPERATION,
  APPLICATION_REQUEST_RESOURCE,
  APPLICATION_RESPONSE_OPERATION,
  APPLICATION_RESPONSE_RESOURCE,
  APPLICATION_SOURCE,
  applicationKey,
  type ApplicationOutcome,
  applicationOutcome,
  applicationRequest,
  applicationResponse,
  isApplicationRequest,
  parseApplicationKey,
  type ParsedKey,
  readApplication,
} from "./application.ts";
