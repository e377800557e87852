// Checks the service-account files a pod gets by default (the kube-api-access projected volume), from
// inside its running container: namespace, the cluster CA, and a token the apiserver itself says belongs
// to the pod's service account and is bound to that pod.
import assert from "node:assert/strict";
import type { CriClient } from "../../edge/cri/mod.ts";
import { exec } from "../containerd/pod_helpers.ts";

const DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export async function assertPodToken(
  kubectl: (args: string[], stdin?: string) => Promise<string>,
  cri: CriClient,
  containerId: string,
  pod: { namespace: string; name: string; serviceAccount?: string },
): Promise<void> {
  assert.equal(await exec(cri, containerId, `cat ${DIR}/namespace`), pod.namespace);
  assert.match(await exec(cri, containerId, `cat ${DIR}/ca.crt`), /^-----BEGIN CERTIFICATE-----/);
  const token = await exec(cri, containerId, `cat ${DIR}/token`);
  assert.ok(token.length > 0, "a token in the pod");
  const review = JSON.parse(
    await kubectl(
      ["create", "-o", "json", "-f", "-"],
      JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } }),
    ),
  );
  assert.equal(review.status?.authenticated, true, JSON.stringify(review.status));
  assert.equal(
    review.status.user.username,
    `system:serviceaccount:${pod.namespace}:${pod.serviceAccount ?? "default"}`,
  );
  assert.deepEqual(review.status.user.extra["authentication.kubernetes.io/pod-name"], [pod.name]);
}
