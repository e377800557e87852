/**
 * edge/dmi: KubeEdge's Device Management Interface (devicemgr v1beta1) on edgecore: the DeviceManagerService
 * mappers register and report to, and the calls into each mapper's DeviceMapperService. The public face.
 */
export { type Dmi, startDmi, type StartDmiOptions } from "./start_dmi.ts";
export { DEFAULT_DMI_LIMITS, type DmiLimits, DmiManager } from "./dmi_manager.ts";
export { DEFAULT_DMI_SOCK_DIR, dmiSocketPath } from "./dmi_socket.ts";
export { DMI_PROTO, WELL_KNOWN_PROTO } from "./proto.ts";
