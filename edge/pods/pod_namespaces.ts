import type { NamespaceOption } from "../cri/mod.ts";
import type { PodSpec } from "./pod_schema.ts";

/**
 * The pod's namespaces, the same for its sandbox and every container (the kubelet's namespacesForPod): the
 * node's network, PID or IPC namespace with hostNetwork, hostPID or hostIPC; one PID namespace for the whole
 * pod with shareProcessNamespace (the pause process is PID 1), else one per container.
 */
export function namespaceOptionsOf(spec: PodSpec): NamespaceOption {
  return {
    network: spec.hostNetwork ? "NODE" : "POD",
    pid: spec.hostPID ? "NODE" : spec.shareProcessNamespace ? "POD" : "CONTAINER",
    ipc: spec.hostIPC ? "NODE" : "POD",
  };
}
