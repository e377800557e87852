// Issue 14 end to end: a pod the cloud deletes ends in a terminal phase before it is gone, as the kubelet's
// TerminatePod makes it (Failed, or Succeeded when every container exited 0). A pod held by a finalizer
// (a Job's pods) stays until its controller removes the finalizer, which a Job's controller does only once
// the pod is terminal: a pod left Running there is never deleted (the conformance spec `Job should allow to
// use a pod failure policy to ignore failure matching on DisruptionTarget condition`).
import assert from "node:assert/strict";
import { waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

interface PodJson {
  metadata: { deletionTimestamp?: string; finalizers?: string[] };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    containerStatuses?: Array<{ state: { running?: unknown; terminated?: { exitCode: number } } }>;
  };
}

const FINALIZER = "kedge.test/hold";

Deno.test("a deleted pod is Failed or Succeeded before it is gone, also when a finalizer holds it", async (t) => {
  await using env = await startPodEdge("termination");
  const { kubectl, rt } = env;
  const pod = (name: string, command: string, grace: number) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, finalizers: ["${FINALIZER}"]}
spec:
  nodeName: edge-1
  restartPolicy: Never
  terminationGracePeriodSeconds: ${grace}
  containers:
  - name: app
    image: "${rt.images.busybox}"
    command: ["sh", "-c", "${command}"]
`;
  const get = async (name: string): Promise<PodJson | undefined> => {
    try {
      return JSON.parse(await kubectl(["get", "pod", name, "-o", "json"]));
    } catch (error) {
      if (String(error).includes("NotFound")) return undefined;
      throw error;
    }
  };
  const running = (name: string) =>
    waitFor(`${name} Running`, async () => (await get(name))?.status?.phase === "Running", 90_000, 500);
  const release = (name: string) =>
    kubectl(["patch", "pod", name, "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]']);
  const gone = (name: string) =>
    waitFor(`${name} gone`, async () => (await get(name)) === undefined, 30_000, 500);

  // `sleep` ignores SIGTERM (killed: 137, Failed); the trap exits 0 on it (Succeeded).
  await kubectl(
    ["apply", "-f", "-"],
    [
      pod("evicted", "exec sleep 3600", 0),
      pod("graceful", "trap 'exit 0' TERM; while true; do sleep 1; done", 10),
    ].join("---\n"),
  );
  await Promise.all([running("evicted"), running("graceful")]);

  await t.step("evicted (grace 0): Failed with the DisruptionTarget condition kept, then gone", async () => {
    const eviction = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "evicted" } };
    await kubectl(
      ["create", "--raw", "/api/v1/namespaces/default/pods/evicted/eviction", "-f", "-"],
      JSON.stringify(eviction),
    );
    const failed = await waitFor(
      "evicted Failed",
      async () => {
        const p = await get("evicted");
        return p?.status?.phase === "Failed" && p;
      },
      30_000,
      500,
    );
    assert.ok(failed.metadata.deletionTimestamp, "the finalizer holds it");
    const disruption = failed.status?.conditions?.find((c) => c.type === "DisruptionTarget");
    assert.equal(
      disruption?.status,
      "True",
      "the apiserver's DisruptionTarget condition is not patched away",
    );
    assert.equal(failed.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
    const app = failed.status?.containerStatuses?.[0]?.state;
    assert.equal(app?.terminated?.exitCode, 137, "sleep was killed");
    await release("evicted");
    await gone("evicted");
  });

  await t.step(
    "deleted with a grace period, its container exits 0 on SIGTERM: Succeeded, then gone",
    async () => {
      await kubectl(["delete", "pod", "graceful", "--wait=false"]);
      const succeeded = await waitFor(
        "graceful Succeeded",
        async () => {
          const p = await get("graceful");
          return p?.status?.phase === "Succeeded" && p;
        },
        30_000,
        500,
      );
      assert.equal(succeeded.status?.containerStatuses?.[0]?.state.terminated?.exitCode, 0);
      await release("graceful");
      await gone("graceful");
    },
  );
});
