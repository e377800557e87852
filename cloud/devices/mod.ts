/**
 * Devices in the cloud: the Device and DeviceModel CRDs installed, and the device controller (membership and
 * desired twins down to each Device's node, reported twins and state back into Device.status). The only
 * public face of cloud/devices.
 */
export { type InstallCrdsOptions, installDeviceCrds } from "./install_crds.ts";
export {
  createDeviceController,
  type DeviceController,
  type DeviceControllerOptions,
} from "./device_controller.ts";
export { type DeviceDenyReason, isDeviceMessage, MAX_DEVICE_REPORT_BYTES } from "./edge_reports.ts";
export { DEFAULT_STATUS_INTERVAL_MS } from "./status_writer.ts";
export {
  DEVICE_CONTROLLER_SOURCE,
  MEMBERSHIP_DETAIL_RESOURCE,
  type WireDevice,
  type WireTwin,
} from "./wire.ts";
