/** CustomResourceDefinitions kedge installs, embedded as text. The public face of cloud/crds. */
export {
  DEVICE_CRD_YAML,
  DEVICE_CRDS_YAML,
  DEVICE_MODEL_CRD_YAML,
  DEVICES_GROUP,
  DEVICES_VERSION,
} from "./devices.ts";
export {
  RULE_CRD_YAML,
  RULE_CRDS_YAML,
  RULE_ENDPOINT_CRD_YAML,
  RULES_GROUP,
  RULES_VERSION,
} from "./rules.ts";
