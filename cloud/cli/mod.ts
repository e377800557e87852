// cloudcore's subcommands besides `run`: init, manifest, certs check-expiration, certs renew.
export { flagValues, joinGroupCommand } from "./argv.ts";
export { type AddressFlags, addressFlags, applyCloudFlags, CLOUD_SUBCOMMAND_FLAGS } from "./flags.ts";
export { type Applied, applyObjects, type ApplyOutcome, FIELD_MANAGER } from "./apply.ts";
export { clusterObjects, type InitOptions, type InitResult, runInit, writeConfigIfChanged } from "./init.ts";
export { joinCommandLine, type MintedToken, mintJoinToken, NODE_PLACEHOLDER } from "./join_command.ts";
export {
  DEFAULT_IMAGE,
  inClusterConfig,
  manifestObjects,
  type ManifestOptions,
  manifestYaml,
} from "./manifest.ts";
export {
  checkExpiration,
  type ExpirationRow,
  formatExpirationTable,
  formatExpiry,
  residualTime,
} from "./certs_check.ts";
export { type RenewOptions, type RenewResult, renewServerCertificate } from "./certs_renew.ts";
export {
  CLOUDCORE_LABELS,
  CLOUDCORE_NAME,
  CLOUDCORE_RULES,
  clusterRoleBindingObject,
  clusterRoleObject,
  type PolicyRule,
} from "./rbac.ts";
