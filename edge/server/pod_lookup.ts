// Finds what a kubelet API path names: the pod (namespace, name, optionally UID) among the pods this node
// runs, and a container of it in CRI (current instance, or the one before for `previous`).
import type { Container, CriClient, PodSandbox } from "../cri/mod.ts";
import type { Pod, PodStatus } from "../pods/mod.ts";
import { HttpError } from "./http_util.ts";

/** The part of the pod manager the servers read. */
export interface LocalPods {
  pods(): Pod[];
  status(uid: string): PodStatus | undefined;
}

const POD_UID = "io.kubernetes.pod.uid";
const CONTAINER_NAME = "io.kubernetes.container.name";

export function findPod(
  pods: LocalPods,
  namespace: string,
  name: string,
  uid?: string,
): Pod & { uid: string } {
  for (const pod of pods.pods()) {
    const podUid = pod.metadata.uid;
    if (!podUid || pod.metadata.name !== name || (pod.metadata.namespace ?? "default") !== namespace) {
      continue;
    }
    if (uid !== undefined && uid !== podUid) continue;
    return { ...pod, uid: podUid };
  }
  throw new HttpError(404, `Cannot find pod: pod "${namespace}/${name}" does not run on this node`);
}

/** The container named in the pod's spec (regular or init); HttpError 404 when the spec has none. */
export function checkContainerName(pod: Pod, container: string): void {
  const names = [
    ...(pod.spec.initContainers ?? []),
    ...pod.spec.containers,
    ...(pod.spec.ephemeralContainers ?? []),
  ]
    .map((c) => c.name);
  if (!names.includes(container)) {
    throw new HttpError(
      404,
      `Cannot find container: "${container}" is not a container of pod "${pod.metadata.name}" (containers: ${
        names.join(", ")
      })`,
    );
  }
}

/** CRI instances of one container of a pod, newest attempt first. */
export async function containerInstances(
  cri: CriClient,
  uid: string,
  container: string,
): Promise<Container[]> {
  const list = await cri.listContainers({ labelSelector: { [POD_UID]: uid, [CONTAINER_NAME]: container } });
  return list.sort((a, b) =>
    (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0) || b.createdAt - a.createdAt
  );
}

/** The container instance to serve: the newest, or the one before it; HttpError 400 when there is none. */
export async function pickInstance(
  cri: CriClient,
  pod: Pod & { uid: string },
  container: string,
  previous: boolean,
): Promise<Container> {
  checkContainerName(pod, container);
  const instances = await containerInstances(cri, pod.uid, container);
  const chosen = instances[previous ? 1 : 0];
  if (chosen) return chosen;
  const what = previous ? "has no previous terminated instance" : "has not been created yet";
  throw new HttpError(
    400,
    `Cannot find container: container "${container}" in pod "${pod.metadata.name}" ${what}`,
  );
}

export async function runningContainer(
  cri: CriClient,
  pod: Pod & { uid: string },
  container: string,
): Promise<Container> {
  const instance = await pickInstance(cri, pod, container, false);
  if (instance.state !== "CONTAINER_RUNNING") {
    throw new HttpError(
      400,
      `Cannot stream: container "${container}" in pod "${pod.metadata.name}" is not running`,
    );
  }
  return instance;
}

/** The pod's ready sandbox (the newest, should there be two); HttpError 400 when it has none. */
export async function readySandbox(cri: CriClient, pod: Pod & { uid: string }): Promise<PodSandbox> {
  const ready = await cri.listPodSandbox({
    labelSelector: { [POD_UID]: pod.uid },
    state: { state: "SANDBOX_READY" },
  });
  const newest = ready.sort((a, b) => b.createdAt - a.createdAt)[0];
  if (newest) return newest;
  throw new HttpError(
    400,
    `Cannot forward ports: pod "${pod.metadata.name}" has no running sandbox (it is starting or stopping)`,
  );
}
