// The Kubernetes side of cloudcore: loading the kubeconfig, checking the apiserver, small typed helpers.
export { loadKubeConfig } from "./kubeconfig.ts";
export type { LoadedKubeConfig } from "./kubeconfig.ts";
export { APISERVER_CHECK_TIMEOUT_MS, checkApiserver, untilAborted } from "./apiserver_check.ts";
export type { ApiserverCheck } from "./apiserver_check.ts";
export { apiStatusOf, isConflict, isNotFound } from "./api_errors.ts";
export { secretBytes, secretData } from "./secret_data.ts";
export { DEFAULT_REFLECTOR_TIMING, Reflector } from "./reflector.ts";
export type { ReflectorSpec, ReflectorTiming, RestartReason, WatchEvent } from "./reflector.ts";
export { ObjectStore } from "./object_store.ts";
export { reflectorMetrics, reflectorsFor, watchChecks } from "./reflectors.ts";
export { type InstallCrdOptions, installCrds } from "./install_crds.ts";
