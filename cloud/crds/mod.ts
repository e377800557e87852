/** CustomResourceDefinitions kedge installs, embedded as text. The public face of cloud/crds. */
export {
  DEVICE_CRD_YAML,
  DEVICE_CRDS_YAML,
  DEVICE_MODEL_CRD_YAML,
  DEVICES_GROUP,
  DEVICES_VERSION,
} from "./devices.ts";
