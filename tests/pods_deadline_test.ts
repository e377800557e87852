// Pod manager on a real containerd: spec.activeDeadlineSeconds kills the pod and fails it with
// DeadlineExceeded when its deadline comes, with restartPolicy Always too, and it stays down.
import assert from "node:assert/strict";
import { startTestRuntime } from "./containerd/mod.ts";
import { startTestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";

Deno.test("a pod past its activeDeadlineSeconds is killed and Failed with DeadlineExceeded", async () => {
  const rt = await startTestRuntime("deadline");
  // A resync far beyond the deadline: the pod must be synced when its deadline comes, not at a resync.
  const tm = await startTestManager(rt, { resyncPeriodMs: 60_000 });
  try {
    const pod = testPod("deadline", {
      activeDeadlineSeconds: 4,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "main", image: rt.images.busybox, command: ["sleep", "3600"] }],
    });
    const uid = pod.metadata.uid ?? "";
    tm.manager.handle({ op: "add", pod });
    const running = await waitFor(
      "running",
      () => tm.manager.status(uid)?.phase === "Running" && tm.manager.status(uid),
    );
    const started = Date.parse(running.startTime ?? "");
    const failed = await waitFor(
      "DeadlineExceeded",
      () => {
        const s = tm.manager.status(uid);
        return s?.phase === "Failed" && s;
      },
      20_000,
      50,
    );
    const after = (Date.now() - started) / 1000;
    // Well before the 60 s resync: the deadline itself woke the pod (killing takes the 2 s minimum grace).
    assert.ok(after >= 3 && after < 20, `failed ${after.toFixed(1)} s after its start (deadline 4 s)`);
    assert.equal(failed.reason, "DeadlineExceeded");
    assert.equal(failed.message, "Pod was active on the node longer than the specified deadline");
    assert.equal(failed.conditions.find((c) => c.type === "Ready")?.status, "False");
    const main = await waitFor("main terminated", () => {
      const c = tm.manager.status(uid)?.containerStatuses[0];
      return c?.state.terminated && c;
    });
    assert.equal(main.state.terminated?.exitCode, 137, "killed: sleep does not handle SIGTERM, so SIGKILL");
    await new Promise((r) => setTimeout(r, 3_000));
    const later = tm.manager.status(uid);
    assert.equal(later?.phase, "Failed");
    assert.equal(later?.containerStatuses[0]?.restartCount, 0, "restartPolicy Always does not bring it back");
    tm.manager.handle({ op: "delete", pod });
    await waitFor("pod removed", () => tm.statuses.removed.has(uid), 60_000);
  } finally {
    await tm.stop();
    await rt.stop();
  }
});
