/**
 * spec.activeDeadlineSeconds as the kubelet's activeDeadlineHandler: once a pod has been active on the node
 * (since status.startTime) longer than its deadline, its containers are killed and it is Failed with reason
 * DeadlineExceeded, whatever its restartPolicy; the pod is synced again when its deadline comes.
 */
import type { PodStatus } from "./status_types.ts";

export const DEADLINE_REASON = "DeadlineExceeded";
export const DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline";

/** Milliseconds left before the pod's deadline (at most 0 once past), or undefined without a deadline. */
export function msToDeadline(
  deadlineSeconds: number | undefined,
  status: Pick<PodStatus, "startTime"> | undefined,
  now = Date.now(),
): number | undefined {
  if (deadlineSeconds === undefined || !status?.startTime) return undefined;
  const started = Date.parse(status.startTime);
  if (!Number.isFinite(started)) return undefined;
  return started + deadlineSeconds * 1000 - now;
}

/** The pod's status once past its deadline: Failed, every condition but PodScheduled false. */
export function deadlineExceeded(status: PodStatus): PodStatus {
  return {
    ...status,
    phase: "Failed",
    reason: DEADLINE_REASON,
    message: DEADLINE_MESSAGE,
    conditions: status.conditions.map((c) =>
      c.type === "Ready" || c.type === "ContainersReady"
        ? { ...c, status: "False", reason: "PodFailed", message: undefined }
        : c
    ),
  };
}
