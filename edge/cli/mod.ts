// edgecore's subcommands besides `run` and the join itself: join --install/--root, reset, status.
export { joinAndInstall, type JoinInstallOptions } from "./install.ts";
export {
  configFiles,
  type EdgeFileFlags,
  type EdgeFiles,
  joinFiles,
  rootedConfig,
  underRoot,
} from "./paths.ts";
export { resetEdge, type ResetOptions, type ResetResult } from "./reset.ts";
export {
  DEFAULT_LOCAL_SERVER,
  edgeStatus,
  type Health,
  probeHealth,
  type StatusOptions,
  type StatusReport,
  statusUrl,
} from "./status.ts";
export { SYSTEMD, type Systemd } from "./systemd.ts";
export { EDGECORE_UNIT, EDGECORE_UNIT_NAME, EDGECORE_UNIT_PATH } from "./unit.ts";
