/**
 * The kubelet's admission checks that apply to a box: a pod the node can never run is refused before anything
 * of it starts, with the phase Failed and the kubelet's reason (pkg/kubelet/lifecycle/predicate.go), instead
 * of being tried and failing in the runtime.
 */
import type { Pod } from "./pod_schema.ts";
import { hostPortTaken } from "./host_ports.ts";
import { forbiddenSysctl } from "./sysctl_admission.ts";

/** What the kubelet's rejectPod writes: the reason and the message it prefixes with "Pod was rejected: ". */
export interface Rejection {
  readonly reason: string;
  readonly message: string;
}

/** The OS label the scheduler and the kubelet both read. */
const OS_LABEL = "kubernetes.io/os";

/**
 * Why `pod` cannot be admitted to a node running `nodeOs` (Deno's `Deno.build.os`) that allows the unsafe
 * sysctls `allowedUnsafeSysctls` and runs the pods `admitted`, or undefined.
 */
export function admissionRejection(
  pod: Pod,
  nodeOs: string = Deno.build.os,
  allowedUnsafeSysctls: readonly string[] = [],
  admitted: Iterable<Pod> = [],
): Rejection | undefined {
  const selected = pod.metadata.labels?.[OS_LABEL];
  if (selected !== undefined && selected !== nodeOs) {
    return {
      reason: "PodOSSelectorNodeLabelDoesNotMatch",
      message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
    };
  }
  if (pod.spec.os !== undefined && pod.spec.os.name !== nodeOs) {
    return {
      reason: "PodOSNotSupported",
      message: "Failed to admit pod as the OS field doesn't match node OS",
    };
  }
  // The kubelet's GeneralPredicates come before its sysctl admit handler.
  if (hostPortTaken(pod, admitted)) {
    return {
      reason: "NodePorts",
      message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    };
  }
  const sysctl = forbiddenSysctl(pod.spec, allowedUnsafeSysctls);
  if (sysctl) return { reason: "SysctlForbidden", message: sysctl };
  return undefined;
}
