/** Device twins on SQLite, KubeEdge's MQTT semantics. The public face of edge/twin. */
export {
  DEFAULT_TWIN_LIMITS,
  type DeviceTwin,
  type DeviceTwinOptions,
  startDeviceTwin,
  type TwinLimits,
} from "./device_twin.ts";
export { deltaOf, mergeDesired, mergeFromBox, valueProblem } from "./merge.ts";
export {
  CODE_BAD_REQUEST,
  CODE_INTERNAL,
  CODE_NOT_FOUND,
  CODE_TOO_LARGE,
  DEVICE_STATES,
  type DeviceAttr,
  type DeviceInfo,
  type DeviceSpec,
  type DeviceState,
  type ErrorResult,
  type MsgTwin,
  type TwinReport,
  type Twins,
  type TwinValue,
  type TwinVersion,
} from "./types.ts";
export { deviceSpecFromResource } from "./from_resource.ts";
export { RequestError } from "./request.ts";
