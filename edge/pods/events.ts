/**
 * Events about pods, as the kubelet records them (reasons of pkg/kubelet/events): the pod manager says what
 * happened, an EventRecorder (edge/meta/pod_events.ts) makes the v1 Event and sends it. Recording is best
 * effort: it never throws and never waits, so it can neither fail nor slow a sync.
 */
import type { PodContext } from "./field_ref.ts";
import type { ContainerType } from "./labels.ts";
import type { PodRef } from "./status_types.ts";

export type EventType = "Normal" | "Warning";

export interface EventPod extends PodRef {
  readonly resourceVersion?: string;
}

/** The container an event is about (its fieldPath); none: the pod itself. */
export interface EventContainer {
  readonly name: string;
  readonly type: ContainerType;
}

export interface EventRecorder {
  record(
    pod: EventPod,
    container: EventContainer | undefined,
    type: EventType,
    reason: string,
    message: string,
  ): void;
  /** The pod is gone from the node: whatever the recorder remembers about it can go. */
  forget?(uid: string): void;
}

/** Records an event about one pod, or one of its containers. */
export type PodEvents = (
  type: EventType,
  reason: string,
  message: string,
  container?: EventContainer,
) => void;

/** Events about one container. */
export type ContainerEvents = (type: EventType, reason: string, message: string) => void;

export const NO_EVENTS: PodEvents & ContainerEvents = () => {};

/** Events about `pod` through `recorder` (none without one); a recorder that throws is ignored. */
export function podEvents(recorder: EventRecorder | undefined, pod: EventPod): PodEvents {
  if (!recorder) return NO_EVENTS;
  return (type, reason, message, container) => {
    try {
      recorder.record(pod, container, type, reason, message);
    } catch { /* best effort: an event is never worth a failed sync */ }
  };
}

export function eventPodOf(ctx: PodContext): EventPod {
  const { name, resourceVersion } = ctx.pod.metadata;
  return { uid: ctx.uid, name, namespace: ctx.namespace, ...(resourceVersion ? { resourceVersion } : {}) };
}
