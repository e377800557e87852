// The pod manager's status sink: pod status goes up as `podpatch`, and a pod whose deletion the cloud
// asked for is reported deleted (`delete <ns>/pod/<name>` with its UID) once its containers are gone.
import { buildResource, newMessage } from "../../lib/protocol/mod.ts";
import type { EdgeStore } from "../store/mod.ts";
import type { PodStatusSink } from "../pods/mod.ts";
import type { PodRef, PodStatus } from "../pods/mod.ts";
import type { UpstreamSender } from "./upstream.ts";

export class PodStatusUplink implements PodStatusSink {
  constructor(private readonly store: EdgeStore, private readonly upstream: UpstreamSender) {}

  podStatusChanged(pod: PodRef, status: PodStatus): void {
    const resource = buildResource({ namespace: pod.namespace, type: "podpatch", name: pod.name });
    // Strategic-merge patch as a JSON string, as upstream's edged sends it; the uid guards a recreated pod.
    const patch = JSON.stringify({ metadata: { uid: pod.uid }, status: clearingDropped(status) });
    this.upstream.send(
      resource,
      newMessage({ source: "edged", group: "meta", operation: "patch", resource, content: patch }),
    );
  }

  podRemoved(pod: PodRef): void {
    const key = buildResource({ namespace: pod.namespace, type: "pod", name: pod.name });
    const stored = this.store.get<{ metadata?: { deletionTimestamp?: string } }>(key);
    if (stored?.uid !== pod.uid || !stored.value.metadata?.deletionTimestamp) return;
    // DeleteOptions, as KubeEdge's edged sends them: the uid guards a recreated pod of the same name.
    const content = {
      kind: "DeleteOptions",
      apiVersion: "v1",
      gracePeriodSeconds: 0,
      preconditions: { uid: pod.uid },
    };
    this.upstream.send(
      `${key}#delete`,
      newMessage({ source: "edged", group: "meta", operation: "delete", resource: key, content }),
    );
  }
}

/**
 * The status with `null` for each condition's reason and message it does not have: conditions merge by type
 * in a strategic-merge patch, so a field left out keeps the apiserver's old value (Ready True still saying
 * "containers with unready status"); null removes it, as the kubelet's two-way patch does.
 */
export function clearingDropped(status: PodStatus): unknown {
  return {
    ...status,
    conditions: status.conditions.map((c) => ({
      ...c,
      reason: c.reason ?? null,
      message: c.message ?? null,
    })),
  };
}
