/** Devices on the edge wired to the cloud: EventBus, DeviceTwin, their cloud messages. The public face of edge/devices. */
export { type EdgeDevices, type EdgeDevicesOptions, startEdgeDevices } from "./edge_devices.ts";
