/**
 * installDeviceCrds: creates or updates the DeviceModel and Device CRDs (cloud/crds) and waits until the
 * apiserver reports both Established, so informers started next can list them.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { DEVICE_CRDS_YAML } from "../crds/mod.ts";
import { type InstallCrdOptions, installCrds } from "../kube/mod.ts";

export type InstallCrdsOptions = InstallCrdOptions;

export function installDeviceCrds(kc: KubeConfig, options: InstallCrdsOptions = {}): Promise<void> {
  return installCrds(kc, DEVICE_CRDS_YAML, options);
}
