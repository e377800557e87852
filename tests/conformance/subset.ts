// The part of Kubernetes' conformance suite that runs in `make test` (tests/conformance_subset_e2e_test.ts):
// one [NodeConformance] spec per node feature, each passing in the last runs and quick (under a minute), so
// that a regression shows in CI and not only in the next `make conformance`. docs/conformance.md lists it
// (report.ts renders the section). Full texts exactly as `e2e.test --ginkgo.dry-run` prints them.

export interface SubsetSpec {
  /** What of the node it covers. */
  feature: string;
  /** The spec's full text. */
  spec: string;
}

export const SUBSET: readonly SubsetSpec[] = [
  {
    feature: "kubectl exec through the apiserver, cloudcore's stream server and the edge's tunnel",
    spec:
      "[sig-node] Pods should support remote command execution over websockets [NodeConformance] [Conformance]",
  },
  {
    feature: "container logs, the same way",
    spec:
      "[sig-node] Pods should support retrieving logs from the container over websockets [NodeConformance] [Conformance]",
  },
  {
    feature: "resourceFieldRef env vars: limits and requests",
    spec:
      "[sig-node] Downward API should provide container's limits.cpu/memory and requests.cpu/memory as env vars [NodeConformance] [Conformance]",
  },
  {
    feature: "resourceFieldRef in a downwardAPI volume",
    spec:
      "[sig-storage] Downward API volume should provide container's memory limit [NodeConformance] [Conformance]",
  },
  {
    feature: "configMap volume items: key to path, the item's mode",
    spec:
      "[sig-storage] ConfigMap should be consumable from pods in volume with mappings and Item mode set [LinuxOnly] [NodeConformance] [Conformance]",
  },
  {
    feature: "secret volume defaultMode",
    spec:
      "[sig-storage] Secrets should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]",
  },
  {
    feature: "emptyDir medium Memory: a tmpfs, with the right mode",
    spec:
      "[sig-storage] EmptyDir volumes volume on tmpfs should have the correct mode [LinuxOnly] [NodeConformance] [Conformance]",
  },
  {
    feature: "termination message from a file a non-root user writes at another path",
    spec:
      "[sig-node] Container Runtime blackbox test on terminated container should report termination message if TerminationMessagePath is set as non-root user and at a non-default path [NodeConformance] [Conformance]",
  },
  {
    feature: "restart policies: restart count, phase, Ready and state of containers that exit",
    spec:
      "[sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]",
  },
  {
    feature: "postStart exec hook",
    spec:
      "[sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute poststart exec hook properly [NodeConformance] [Conformance]",
  },
  {
    feature: "exec liveness probe failing: the container restarts",
    spec:
      '[sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]',
  },
  {
    feature: "init containers in order before the app container, the pod's status as the kubelet's",
    spec:
      "[sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartNever pod [Conformance]",
  },
  {
    feature: "the pod's /etc/hosts managed (not for host network nor a container mounting its own)",
    spec:
      "[sig-node] KubeletManagedEtcHosts should test kubelet managed /etc/hosts file [NodeConformance] [Conformance]",
  },
  {
    feature: "admission: a pod for another OS is rejected",
    spec:
      "[sig-node] PodOSRejection [NodeConformance] Kubelet [LinuxOnly] should reject pod when the node OS doesn't match pod's OS",
  },
];
