// Loading the kubeconfig cloudcore talks to the apiserver with. @kubernetes/client-node is imported lazily so
// `--help`, `--version` and runs without a kubeconfig do not pay for loading it.
import type { KubeConfig } from "@kubernetes/client-node";
import { ConfigError } from "../../lib/errors.ts";

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The current cluster's server URL. */
  readonly server: string;
}

/**
 * Loads the kubeconfig named by `kubeAPIConfig.kubeConfig`. One that cannot be used is a problem of the
 * cloudcore config `configFile`, so it throws ConfigError (exit 78).
 */
export async function loadKubeConfig(path: string, configFile: string): Promise<LoadedKubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kubeConfig = new KubeConfig();
  try {
    // "" is in-cluster (the pod's service account) or, outside a cluster, $KUBECONFIG / ~/.kube/config.
    if (path === "") kubeConfig.loadFromDefault();
    else kubeConfig.loadFromFile(path);
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new TypeError("Cannot use kubeconfig: it has no current cluster");
    return { kubeConfig, server: cluster.server };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(configFile, [
      `kubeAPIConfig.kubeConfig: cannot load ${path || "the in-cluster or default kubeconfig"}: ${reason}`,
    ], {
      cause: err,
    });
  }
}
