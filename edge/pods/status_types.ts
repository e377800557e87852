/** The v1 PodStatus the pod manager reports, in the Kubernetes API's JSON shape (times as RFC 3339). */

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
export type ConditionType = "PodScheduled" | "Initialized" | "ContainersReady" | "Ready";

export interface PodCondition {
  type: ConditionType;
  status: "True" | "False";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ContainerStateWaiting {
  reason: string;
  message?: string;
}
export interface ContainerStateRunning {
  startedAt: string;
}
export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}
export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
}

export interface PodStatus {
  phase: PodPhase;
  conditions: PodCondition[];
  reason?: string;
  message?: string;
  hostIP?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  ephemeralContainerStatuses?: ContainerStatus[];
  containerStatuses: ContainerStatus[];
}

/** Which pod a status belongs to. */
export interface PodRef {
  uid: string;
  name: string;
  namespace: string;
}
