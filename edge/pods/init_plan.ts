/**
 * Which init containers to start next, as the kubelet's computeInitContainerActions (KEP-753, sidecar
 * containers). Init containers run in order; a regular one must exit 0 before the next starts, a sidecar (an
 * init container with `restartPolicy: Always`) only has to be started: running, and past its startupProbe if
 * it has one. Sidecars keep running beside the regular containers and are restarted whenever they exit,
 * whatever the pod's restartPolicy. Works on the current sandbox's containers only, so a new sandbox starts
 * initialization over.
 */
import type { ContainerSpec, PodSpec } from "./pod_schema.ts";
import { latestContainer, type RuntimeContainer, type RuntimePod } from "./runtime_state.ts";

export interface InitPlan {
  /**
   * Indexes of init containers that are not running and must start, or restart after their backoff, in spec
   * order. A running sidecar is not in it: the sync restarts one whose probe failed or whose spec changed.
   */
  readonly start: readonly number[];
  /** Initialization is done: the regular containers may run. */
  readonly initialized: boolean;
  /** A regular init container failed and the pod's restartPolicy is Never: the pod has failed. */
  readonly failed: boolean;
}

/** A sidecar: an init container with `restartPolicy: Always`. */
export function isSidecar(spec: ContainerSpec): boolean {
  return spec.restartPolicy === "Always";
}

/** Whether the pod has a regular container in sandbox `sandboxId`: then it was initialized there before. */
export function hasRegularContainer(runtime: RuntimePod | undefined, sandboxId: string): boolean {
  return runtime?.containers.some((c) => c.type === "regular" && c.sandboxId === sandboxId) ?? false;
}

export function planInitContainers(
  spec: PodSpec,
  runtime: RuntimePod | undefined,
  sandboxId: string,
  /** Whether a running container passed its startup probe (true without one). */
  started: (container: RuntimeContainer, spec: ContainerSpec) => boolean,
): InitPlan {
  const inits = spec.initContainers ?? [];
  if (inits.length === 0) return { start: [], initialized: true, failed: false };
  const start = new Set<number>();
  let initialized = hasRegularContainer(runtime, sandboxId);
  // The kubelet walks back from the last init container: completed ones may have been removed since.
  let previouslyInitialized = initialized;
  for (let i = inits.length - 1; i >= 0; i--) {
    const init = inits[i]!;
    const sidecar = isSidecar(init);
    const c = latestContainer(runtime, init.name, "init", sandboxId);
    if (!c) {
      // A sidecar of an initialized pod that is gone is started again.
      if (previouslyInitialized && sidecar) start.add(i);
      continue;
    }
    // Once initialized, only the sidecars are kept running.
    if (previouslyInitialized && !sidecar) continue;
    switch (c.state) {
      case "CONTAINER_RUNNING":
        if (!sidecar || !started(c, init)) break;
        if (i === inits.length - 1) initialized = true;
        else if (!previouslyInitialized) start.add(i + 1);
        break;
      case "CONTAINER_EXITED":
        if (sidecar) start.add(i);
        else if (c.exitCode !== 0) {
          if (spec.restartPolicy === "Never") return { start: [], initialized: false, failed: true };
          start.add(i);
        } else if (i === inits.length - 1) initialized = true;
        else start.add(i + 1);
        break;
      default:
        // Created but never started, or unknown: the sync removes it and starts it again.
        start.add(i);
    }
    previouslyInitialized = true;
  }
  if (!previouslyInitialized) start.add(0);
  return { start: [...start].sort((a, b) => a - b), initialized, failed: false };
}
