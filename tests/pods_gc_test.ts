// Garbage collection on a real containerd: dead containers beyond the newest per container are removed;
// above the high threshold, images no container uses are removed while used ones and the sandbox image stay.
import assert from "node:assert/strict";
import { startTestRuntime } from "./containerd/mod.ts";
import { startTestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";

Deno.test("garbage collection removes dead containers and unused images", async (t) => {
  const rt = await startTestRuntime("pods-gc");
  const tm = await startTestManager(rt, {
    crashLoopBackoff: { initialMs: 200, maxMs: 400 },
    gc: { maxDeadPerContainer: 1, imageHighPercent: 1, imageLowPercent: 0 },
  });
  try {
    const pod = testPod("gc", {
      terminationGracePeriodSeconds: 0,
      containers: [
        { name: "crash", image: rt.images.busybox, command: ["sh", "-c", "exit 1"] },
        { name: "keep", image: rt.images.busybox, command: ["sleep", "3600"] },
      ],
    });
    const uid = pod.metadata.uid ?? "";
    tm.manager.handle({ op: "add", pod });
    await waitFor("3 restarts", () => (tm.manager.status(uid)?.containerStatuses[0]?.restartCount ?? 0) >= 3);
    const selector = { labelSelector: { "io.kubernetes.pod.uid": uid } };

    await t.step("only the newest dead instance of each container stays", async () => {
      const before = (await tm.cri.listContainers(selector)).filter((c) => c.state === "CONTAINER_EXITED");
      assert.ok(before.length >= 2, `dead containers before: ${before.length}`);
      const report = await tm.manager.collectGarbage();
      assert.ok(report.containers >= 1);
      const after = await tm.cri.listContainers(selector);
      // The crash loop goes on while GC runs, so judge only the instances that existed before it: all but
      // the newest of them must be gone (one that died meanwhile is the next GC's business).
      const crashedBefore = before.filter((c) => c.labels["io.kubernetes.container.name"] === "crash")
        .sort((a, b) => b.createdAt - a.createdAt);
      const shouldGo = new Set(crashedBefore.slice(1).map((c) => c.id));
      const left = after.filter((c) => shouldGo.has(c.id));
      assert.equal(left.length, 0, `older dead crash containers still there: ${left.length}`);
      // Which instance is the newest depends on the crash loop's timing, but one always stays for lastState.
      assert.ok(
        after.some((c) =>
          c.labels["io.kubernetes.container.name"] === "crash" && c.state === "CONTAINER_EXITED"
        ),
        "a dead instance stays",
      );
      assert.equal(
        after.filter((c) =>
          c.labels["io.kubernetes.container.name"] === "keep" && c.state === "CONTAINER_RUNNING"
        ).length,
        1,
      );
    });

    await t.step(
      "above the high threshold unused images go; used images and the sandbox image stay",
      async () => {
        await tm.cri.pullImage(rt.images.busybox2);
        const report = await tm.manager.collectGarbage();
        assert.deepEqual(report.images, [rt.images.busybox2]);
        assert.equal(await tm.cri.imageStatus(rt.images.busybox2), undefined);
        assert.ok(await tm.cri.imageStatus(rt.images.busybox), "busybox is used by the pod");
        assert.ok(await tm.cri.imageStatus(rt.images.pause), "the sandbox image is pinned");
      },
    );
    tm.manager.handle({ op: "delete", pod });
    await waitFor("removed", () => tm.statuses.removed.has(uid), 20_000);
  } finally {
    await tm.stop();
    await rt.stop();
  }
});
