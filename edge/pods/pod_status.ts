/**
 * A pod's v1 status from CRI state, as the kubelet's generateAPIPodStatus: container states (waiting with
 * the worker's reason, running, terminated), lastState from the previous instance, restartCount from the
 * container's annotation, readiness from probes, the phase, and the four conditions. Sidecars (init
 * containers with restartPolicy Always) report started and ready from their probes, count towards Ready, and
 * not towards a finished pod's phase (getPhase in pkg/kubelet/kubelet_pods.go).
 */
import type { PodContext } from "./field_ref.ts";
import { hasRegularContainer, isSidecar } from "./init_plan.ts";
import type { ContainerType } from "./labels.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import { latestContainer, type RuntimeContainer, type RuntimePod } from "./runtime_state.ts";
import type { ContainerState, ContainerStatus, PodCondition, PodPhase, PodStatus } from "./status_types.ts";

export interface Waiting {
  reason: string;
  message?: string;
}

export interface StatusInput {
  readonly ctx: PodContext;
  readonly runtime: RuntimePod | undefined;
  /** Why a container is not running, from the last sync (CrashLoopBackOff, ErrImagePull, ...). */
  readonly waiting: ReadonlyMap<string, Waiting>;
  readonly ready: (containerId: string, spec: ContainerSpec) => boolean;
  readonly started: (containerId: string, spec: ContainerSpec) => boolean;
  readonly previous: PodStatus | undefined;
  /**
   * The status the apiserver holds, for what the edge has not computed yet (after a restart, or a pod new to
   * it): condition transition times and startTime carry over, as the kubelet starts from pod.Status.
   */
  readonly recorded?: RecordedStatus;
  readonly now: Date;
  /**
   * The pod is being deleted and its containers were stopped: its phase is terminal whatever its restart
   * policy, as the kubelet's getPhase with podIsTerminal and its status manager's TerminatePod make it.
   */
  readonly terminal?: boolean;
}

const iso = (ns: number) => new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d{3}Z$/, "Z");

function terminated(c: RuntimeContainer): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: c.reason || (c.exitCode === 0 ? "Completed" : "Error"),
      ...(c.message ? { message: c.message } : {}),
      startedAt: c.startedAt ? iso(c.startedAt) : undefined,
      finishedAt: c.finishedAt ? iso(c.finishedAt) : undefined,
      containerID: `containerd://${c.id}`,
    },
  };
}

function containerStatus(input: StatusInput, spec: ContainerSpec, type: ContainerType): ContainerStatus {
  const all = (input.runtime?.containers ?? []).filter((c) => c.name === spec.name && c.type === type);
  const latest = all[0];
  const waiting = input.waiting.get(`${type}/${spec.name}`);
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (latest?.state === "CONTAINER_RUNNING") {
    state = { running: { startedAt: iso(latest.startedAt) } };
    if (all[1]) lastState = terminated(all[1]);
  } else if (waiting) {
    state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
    if (latest?.state === "CONTAINER_EXITED") lastState = terminated(latest);
  } else if (latest?.state === "CONTAINER_EXITED") {
    state = terminated(latest);
    if (all[1]) lastState = terminated(all[1]);
  } else {
    // The kubelet's default waiting reason: PodInitializing for every container of a pod with init containers.
    const withInit = (input.ctx.pod.spec.initContainers?.length ?? 0) > 0;
    state = { waiting: { reason: withInit ? "PodInitializing" : "ContainerCreating" } };
  }
  const running = latest?.state === "CONTAINER_RUNNING";
  // An init container that completed is ready, as the kubelet's prober manager marks it; a sidecar never
  // completes: it is ready while it runs and its readiness probe (if any) passes.
  const completed = type === "init" && !isSidecar(spec) && state.terminated?.exitCode === 0;
  return {
    name: spec.name,
    state,
    lastState,
    ready: completed || (running && latest !== undefined && input.ready(latest.id, spec)),
    started: running && latest !== undefined && input.started(latest.id, spec),
    restartCount: latest?.restartCount ?? 0,
    image: spec.image,
    imageID: latest?.imageRef ?? "",
    ...(latest ? { containerID: `containerd://${latest.id}` } : {}),
  };
}

/**
 * A regular container was started in the current sandbox, or every init container is done there: a regular
 * one exited 0, a sidecar runs and passed its startup probe.
 */
export function initialized(input: Pick<StatusInput, "ctx" | "runtime" | "started">): boolean {
  const inits = input.ctx.pod.spec.initContainers ?? [];
  if (inits.length === 0) return true;
  const sandbox = input.runtime?.sandboxes[0];
  if (!sandbox) return false;
  if (hasRegularContainer(input.runtime, sandbox.id)) return true;
  return inits.every((s) => {
    const c = latestContainer(input.runtime, s.name, "init", sandbox.id);
    if (isSidecar(s)) return c?.state === "CONTAINER_RUNNING" && input.started(c.id, s);
    return c?.state === "CONTAINER_EXITED" && c.exitCode === 0;
  });
}

/** The kubelet's getPhase (without the alpha per-container restart rules). */
function phaseOf(input: StatusInput, inits: ContainerStatus[], containers: ContainerStatus[]): PodPhase {
  const spec = input.ctx.pod.spec;
  const policy = spec.restartPolicy ?? "Always";
  const sandbox = input.runtime?.sandboxes[0];
  const podHasInitialized = sandbox !== undefined && hasRegularContainer(input.runtime, sandbox.id);
  let pendingInits = 0, pendingSidecars = 0, failedInit = 0;
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  (spec.initContainers ?? []).forEach((c, i) => {
    const s = inits[i];
    if (!s) return;
    if (!isSidecar(c)) {
      const exitCode = (s.state.terminated ?? (s.state.waiting ? s.lastState.terminated : undefined))
        ?.exitCode;
      if (exitCode === undefined) pendingInits++;
      else if (exitCode !== 0) failedInit++;
    } else if (s.state.running) {
      // A sidecar counts as a running container; until it started the pod is not initialized.
      if (!s.started) pendingSidecars++;
      running++;
    } else if (s.state.waiting && !s.lastState.terminated) {
      pendingSidecars++;
      waiting++;
    }
    // A sidecar that exited (or waits to restart after exiting) does not count.
  });
  for (const s of containers) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && policy === "Never") return "Failed";
  if (pendingInits > 0 || (pendingSidecars > 0 && !podHasInitialized) || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (input.terminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    return policy === "OnFailure" ? "Running" : "Failed";
  }
  return "Pending";
}

export function computePodStatus(input: StatusInput): PodStatus {
  const spec = input.ctx.pod.spec;
  const inits = (spec.initContainers ?? []).map((c) => containerStatus(input, c, "init"));
  const isInitialized = initialized(input);
  const containers = spec.containers.map((c) => containerStatus(input, c, "regular"))
    .map((c) => input.terminal && isInitialized ? unlocatedAsTerminated(c) : c);
  const found = phaseOf(input, inits, containers);
  // TerminatePod: a pod that is gone from the node is never Pending or Running again.
  const phase = input.terminal && found !== "Succeeded" ? "Failed" : found;
  const sidecars = inits.filter((_, i) => isSidecar(spec.initContainers![i]!));
  const allReady = [...sidecars, ...containers].every((c) => c.ready);
  const completed = phase === "Succeeded" || phase === "Failed";
  const previous = new Map<string, { status: string; lastTransitionTime?: string }>(
    (input.previous?.conditions ?? input.recorded?.conditions ?? []).map((c) => [c.type, c]),
  );
  const condition = (
    type: PodCondition["type"],
    ok: boolean,
    reason?: string,
    message?: string,
  ): PodCondition => {
    const status = ok ? "True" : "False";
    const before = previous.get(type);
    return {
      type,
      status,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      lastTransitionTime: before?.status === status && before.lastTransitionTime
        ? before.lastTransitionTime
        : input.now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
  };
  // The kubelet's reasons (pkg/kubelet/status/generate.go): a terminal pod's are PodCompleted or PodFailed;
  // Initialized is True with PodCompleted once the pod succeeded, else False with ContainersNotInitialized.
  const notReady = phase === "Succeeded"
    ? "PodCompleted"
    : phase === "Failed"
    ? "PodFailed"
    : "ContainersNotReady";
  const ready = allReady && !completed;
  // Messages as the kubelet's, the names as Go prints a []string.
  const goList = (names: string[]) => `[${names.join(" ")}]`;
  // The kubelet's isInitContainerInitialized: a sidecar must have started, a regular init container completed.
  const incomplete = inits.filter((c, i) =>
    isSidecar(spec.initContainers![i]!) ? !c.started : c.state.terminated?.exitCode !== 0
  ).map((c) => c.name);
  const unready = [...sidecars, ...containers].filter((c) => !c.ready).map((c) => c.name);
  const initMessage = !isInitialized && incomplete.length > 0
    ? `containers with incomplete status: ${goList(incomplete)}`
    : undefined;
  const gateBlocked = ready
    ? readinessGateBlocked(spec.readinessGates, input.recorded?.conditions)
    : undefined;
  const readyMessage = !ready && !completed && unready.length > 0
    ? `containers with unready status: ${goList(unready)}`
    : undefined;
  const sandbox = input.runtime?.sandboxes.find((s) => s.ready);
  const podIP = spec.hostNetwork ? input.ctx.hostIP : sandbox?.ip || input.previous?.podIP;
  const oldest = input.runtime?.sandboxes.at(-1);
  const startTime = input.previous?.startTime ?? input.recorded?.startTime ??
    (oldest ? iso(oldest.createdAt) : input.now.toISOString().replace(/\.\d{3}Z$/, "Z"));
  return {
    phase,
    conditions: [
      condition("PodScheduled", true),
      condition(
        "Initialized",
        isInitialized,
        isInitialized ? (phase === "Succeeded" ? "PodCompleted" : undefined) : "ContainersNotInitialized",
        initMessage,
      ),
      condition("ContainersReady", ready, ready ? undefined : notReady, readyMessage),
      gateBlocked
        ? condition("Ready", false, "ReadinessGatesNotReady", gateBlocked)
        : condition("Ready", ready, ready ? undefined : notReady, readyMessage),
    ],
    hostIP: input.ctx.hostIP,
    ...(podIP && sandbox ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime,
    ...(inits.length ? { initContainerStatuses: inits } : {}),
    ...(spec.ephemeralContainers?.length
      ? {
        ephemeralContainerStatuses: spec.ephemeralContainers.map((c) =>
          containerStatus(input, c, "ephemeral")
        ),
      }
      : {}),
    containerStatuses: containers,
  };
}

/**
 * As TerminatePod: a container of an initialized pod with no terminated state when the pod is terminated (it
 * never ran, or waited to restart) is reported terminated with an unknown status, exit code 137.
 */
function unlocatedAsTerminated(status: ContainerStatus): ContainerStatus {
  if (status.state.terminated) return status;
  return {
    ...status,
    state: {
      terminated: {
        exitCode: 137,
        reason: "ContainerStatusUnknown",
        message: "The container could not be located when the pod was terminated",
      },
    },
  };
}

/** What computePodStatus takes from the apiserver's status of a pod. */
export interface RecordedStatus {
  readonly conditions?: ReadonlyArray<{ type: string; status: string; lastTransitionTime?: string }>;
  readonly startTime?: string;
  readonly phase?: string;
}

/** Reads the conditions, startTime and phase of a pod object's status; anything malformed is left out. */
export function recordedStatus(status: unknown): RecordedStatus | undefined {
  if (typeof status !== "object" || status === null) return undefined;
  const { conditions, startTime, phase } = status as {
    conditions?: unknown;
    startTime?: unknown;
    phase?: unknown;
  };
  const text = (value: unknown) => typeof value === "string" ? value : undefined;
  const read = Array.isArray(conditions)
    ? conditions.flatMap((c) => {
      const type = text(c?.type), state = text(c?.status);
      return type && state ? [{ type, status: state, lastTransitionTime: text(c.lastTransitionTime) }] : [];
    })
    : undefined;
  return { conditions: read, startTime: text(startTime), phase: text(phase) };
}

/**
 * Why the pod's readiness gates hold Ready back, in the kubelet's words, or undefined: each gate's condition
 * is set by someone else (a controller, `kubectl patch --subresource=status`) and must be True.
 */
export function readinessGateBlocked(
  gates: ReadonlyArray<{ conditionType: string }> | undefined,
  conditions: RecordedStatus["conditions"],
): string | undefined {
  for (const { conditionType } of gates ?? []) {
    const c = conditions?.find((c) => c.type === conditionType);
    if (!c) return `corresponding condition of pod readiness gate "${conditionType}" does not exist.`;
    if (c.status !== "True") {
      return `the status of pod readiness gate "${conditionType}" is not "True", but ${c.status}`;
    }
  }
  return undefined;
}
