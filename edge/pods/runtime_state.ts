/**
 * What CRI says about pods: sandboxes and containers grouped by pod UID (from their labels), with each
 * container's full status. Statuses are cached by (ID, state): a container's details change only with its
 * state, so a relist costs two List calls plus one ContainerStatus per container that changed.
 */
import type { ContainerStatus as CriContainerStatus, CriClient, PodSandbox } from "../cri/mod.ts";
import { terminationMessage } from "./termination_message.ts";
import {
  CONTAINER_HASH,
  CONTAINER_NAME,
  CONTAINER_TYPE,
  type ContainerType,
  MANAGED_BY,
  MANAGER,
  POD_NAME,
  POD_NAMESPACE,
  POD_UID,
  RESTART_COUNT,
} from "./labels.ts";

export interface RuntimeSandbox {
  id: string;
  ready: boolean;
  attempt: number;
  createdAt: number;
  ip: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuntimeContainer {
  id: string;
  sandboxId: string;
  name: string;
  type: ContainerType;
  hash: string;
  restartCount: number;
  attempt: number;
  state: CriContainerStatus["state"];
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  image: string;
  imageRef: string;
  annotations: Record<string, string>;
}

export interface RuntimePod {
  uid: string;
  name: string;
  namespace: string;
  /** Newest first. */
  sandboxes: RuntimeSandbox[];
  /** Newest first. */
  containers: RuntimeContainer[];
}

const MANAGED = { [MANAGED_BY]: MANAGER };

export class RuntimeCache {
  readonly #statuses = new Map<string, { state: string; status: CriContainerStatus }>();
  readonly #ips = new Map<string, string>();
  constructor(private readonly cri: CriClient) {}

  /** Every managed pod, or one pod when `uid` is given. */
  async list(uid?: string): Promise<Map<string, RuntimePod>> {
    const selector = uid ? { ...MANAGED, [POD_UID]: uid } : MANAGED;
    const [sandboxes, containers] = await Promise.all([
      this.cri.listPodSandbox({ labelSelector: selector }),
      this.cri.listContainers({ labelSelector: selector }),
    ]);
    const pods = new Map<string, RuntimePod>();
    const podOf = (labels: Record<string, string>) => {
      const id = labels[POD_UID] ?? "";
      let pod = pods.get(id);
      if (!pod) {
        pod = {
          uid: id,
          name: labels[POD_NAME] ?? "",
          namespace: labels[POD_NAMESPACE] ?? "",
          sandboxes: [],
          containers: [],
        };
        pods.set(id, pod);
      }
      return pod;
    };
    const liveSandboxes = new Set<string>();
    for (const sb of sandboxes) {
      liveSandboxes.add(sb.id);
      podOf(sb.labels).sandboxes.push(await this.#sandbox(sb));
    }
    const live = new Set<string>();
    await Promise.all(containers.map(async (c) => {
      live.add(c.id);
      let cached = this.#statuses.get(c.id);
      if (!cached || cached.state !== c.state) {
        const status = await this.cri.containerStatus(c.id);
        if (status.state === "CONTAINER_EXITED") {
          status.message = (await terminationMessage(status)) || status.message;
        }
        cached = { state: status.state, status };
        this.#statuses.set(c.id, cached);
      }
      podOf(c.labels).containers.push(toContainer(c.podSandboxId, cached.status));
    }));
    if (!uid) {
      for (const id of this.#statuses.keys()) if (!live.has(id)) this.#statuses.delete(id);
      for (const id of this.#ips.keys()) if (!liveSandboxes.has(id)) this.#ips.delete(id);
    }
    for (const pod of pods.values()) {
      pod.sandboxes.sort((a, b) => b.createdAt - a.createdAt);
      pod.containers.sort((a, b) => b.createdAt - a.createdAt);
    }
    return pods;
  }

  async #sandbox(sb: PodSandbox): Promise<RuntimeSandbox> {
    const ready = sb.state === "SANDBOX_READY";
    let ip = this.#ips.get(sb.id);
    if (ip === undefined && ready) {
      ip = (await this.cri.podSandboxStatus(sb.id)).network?.ip ?? "";
      this.#ips.set(sb.id, ip);
    }
    return {
      id: sb.id,
      ready,
      attempt: sb.metadata?.attempt ?? 0,
      createdAt: sb.createdAt,
      ip: ip ?? "",
      labels: sb.labels,
      annotations: sb.annotations,
    };
  }

  forget(containerId: string): void {
    this.#statuses.delete(containerId);
  }
}

function toContainer(sandboxId: string, s: CriContainerStatus): RuntimeContainer {
  return {
    id: s.id,
    sandboxId,
    name: s.labels[CONTAINER_NAME] ?? s.metadata?.name ?? "",
    type: typeOf(s.annotations[CONTAINER_TYPE]),
    hash: s.annotations[CONTAINER_HASH] ?? "",
    restartCount: Number(s.annotations[RESTART_COUNT] ?? 0) || 0,
    attempt: s.metadata?.attempt ?? 0,
    state: s.state,
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
    exitCode: s.exitCode,
    reason: s.reason,
    message: s.message,
    image: s.image?.userSpecifiedImage || s.image?.image || "",
    imageRef: s.imageRef,
    annotations: s.annotations,
  };
}

/** The newest container named `name` in `pod` (optionally only in sandbox `sandboxId`). */
export function latestContainer(
  pod: RuntimePod | undefined,
  name: string,
  type: ContainerType,
  sandboxId?: string,
): RuntimeContainer | undefined {
  return pod?.containers.find((c) =>
    c.name === name && c.type === type && (sandboxId === undefined || c.sandboxId === sandboxId)
  );
}

function typeOf(annotation: string | undefined): ContainerType {
  return annotation === "init" || annotation === "ephemeral" ? annotation : "regular";
}
