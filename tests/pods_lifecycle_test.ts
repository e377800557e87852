// Container lifecycle through the pod manager on a real containerd: crash-loop backoff, liveness and
// readiness probes, graceful deletion (preStop, SIGTERM, SIGKILL after the grace period), image pulls.
import assert from "node:assert/strict";
import { join } from "node:path";
import { imageLayout, startTestRuntime } from "./containerd/mod.ts";
import { containerId, exec, startTestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";

Deno.test("pod manager restarts, probes, terminates and pulls", async (t) => {
  const rt = await startTestRuntime("pods-lifecycle");
  const tm = await startTestManager(rt);
  try {
    await t.step("a crashing container restarts with growing backoff and restartCount", async () => {
      const pod = testPod("crasher", {
        containers: [{ name: "crash", image: rt.images.busybox, command: ["sh", "-c", "exit 3"] }],
        terminationGracePeriodSeconds: 0,
      });
      const uid = pod.metadata.uid ?? "";
      const seen = new Map<number, number>();
      tm.manager.handle({ op: "add", pod });
      const started = Date.now();
      await waitFor(
        "restartCount 3",
        () => {
          const s = tm.manager.status(uid)?.containerStatuses[0];
          if (!s) return false;
          if (!seen.has(s.restartCount)) seen.set(s.restartCount, Date.now() - started);
          return s.restartCount >= 3;
        },
        30_000,
        50,
      );
      // Every status the manager reported, not what polling happened to see: the backoff between restarts
      // was reported as CrashLoopBackOff with the exit code of the run before.
      const backoffs = (tm.statuses.history.get(uid) ?? []).map((s) => s.containerStatuses[0])
        .filter((s) => s?.state.waiting?.reason === "CrashLoopBackOff");
      assert.ok(backoffs.length > 0, "waiting reason CrashLoopBackOff was reported");
      for (const s of backoffs) assert.equal(s?.lastState.terminated?.exitCode, 3);
      const [t1 = 0, t2 = 0, t3 = 0] = [seen.get(1), seen.get(2), seen.get(3)];
      // backoff 1 s then 2 s (test timings; 10 s doubling to 5 min by default)
      assert.ok(t2 - t1 >= 900, `second restart waited ${t2 - t1} ms`);
      assert.ok(t3 - t2 >= 1900, `third restart waited ${t3 - t2} ms`);
      assert.ok(t3 - t2 > t2 - t1, `backoff grows: ${t2 - t1} then ${t3 - t2} ms`);
      assert.equal(tm.manager.status(uid)?.phase, "Running", "restartPolicy Always keeps the pod Running");
      tm.manager.handle({ op: "delete", pod });
    });

    await t.step(
      "a terminated container's message: its terminationMessagePath file, or its log tail on error",
      async () => {
        const pod = testPod("messages", {
          restartPolicy: "Never",
          containers: [
            {
              name: "file",
              image: rt.images.busybox,
              command: ["sh", "-c", "printf 'all done' > /tmp/message; exit 0"],
              terminationMessagePath: "/tmp/message",
            },
            {
              name: "fallback",
              image: rt.images.busybox,
              command: ["sh", "-c", "echo first; echo 'it broke'; exit 3"],
              terminationMessagePolicy: "FallbackToLogsOnError",
            },
            { name: "quiet", image: rt.images.busybox, command: ["sh", "-c", "echo ignored; exit 2"] },
          ],
        });
        const uid = pod.metadata.uid ?? "";
        tm.manager.handle({ op: "add", pod });
        const status = await waitFor(
          "pod Failed",
          () => tm.manager.status(uid)?.phase === "Failed" && tm.manager.status(uid),
        );
        const message = (name: string) =>
          status.containerStatuses.find((c) => c.name === name)?.state.terminated?.message;
        assert.equal(message("file"), "all done");
        assert.equal(message("fallback"), "first\nit broke\n");
        assert.equal(message("quiet"), undefined, "policy File and an empty file: no message");
        tm.manager.handle({ op: "delete", pod });
      },
    );

    await t.step(
      "postStart runs in the container after it starts; a failing one kills it and it restarts",
      async () => {
        const pod = testPod("hooked", {
          // sleep as PID 1 ignores SIGTERM: the kill after the failed hook takes the whole grace period.
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: "good",
              image: rt.images.busybox,
              command: ["sh", "-c", "exec sleep 3600"],
              lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo hooked > /tmp/poststart"] } } },
            },
            {
              name: "bad",
              image: rt.images.busybox,
              command: ["sh", "-c", "exec sleep 3600"],
              lifecycle: { postStart: { exec: { command: ["sh", "-c", "exit 9"] } } },
            },
          ],
        });
        const uid = pod.metadata.uid ?? "";
        tm.manager.handle({ op: "add", pod });
        const status = await waitFor("the bad container restarted", () => {
          const s = tm.manager.status(uid);
          const bad = s?.containerStatuses.find((c) => c.name === "bad");
          return (bad?.restartCount ?? 0) >= 1 && s;
        }, 30_000);
        const good = containerId(status, "good") ?? "";
        assert.equal(await exec(tm.cri, good, "cat /tmp/poststart"), "hooked\n");
        const bad = status.containerStatuses.find((c) => c.name === "bad");
        assert.equal(bad?.ready, false);
        tm.manager.handle({ op: "delete", pod });
      },
    );

    await t.step("restartPolicy Never leaves a failed container dead and the pod Failed", async () => {
      const pod = testPod("once", {
        restartPolicy: "Never",
        containers: [{ name: "fail", image: rt.images.busybox, command: ["sh", "-c", "exit 7"] }],
      });
      const uid = pod.metadata.uid ?? "";
      tm.manager.handle({ op: "add", pod });
      const status = await waitFor(
        "pod Failed",
        () => tm.manager.status(uid)?.phase === "Failed" && tm.manager.status(uid),
      );
      assert.equal(status.containerStatuses[0]?.state.terminated?.exitCode, 7);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(tm.manager.status(uid)?.containerStatuses[0]?.restartCount, 0);
      tm.manager.handle({ op: "delete", pod });
    });

    await t.step(
      "readiness false keeps Ready False; a failing liveness probe restarts the container",
      async () => {
        const pod = testPod("probed", {
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: "app",
            image: rt.images.busybox,
            command: ["sh", "-c", "touch /tmp/healthy; exec sleep 3600"],
            livenessProbe: {
              exec: { command: ["cat", "/tmp/healthy"] },
              periodSeconds: 1,
              failureThreshold: 2,
            },
            readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
          }],
        });
        const uid = pod.metadata.uid ?? "";
        tm.manager.handle({ op: "add", pod });
        const running = await waitFor(
          "running",
          () => tm.manager.status(uid)?.phase === "Running" && tm.manager.status(uid),
        );
        await new Promise((r) => setTimeout(r, 2500));
        const notReady = tm.manager.status(uid);
        assert.equal(notReady?.conditions.find((c) => c.type === "Ready")?.status, "False");
        assert.equal(notReady?.conditions.find((c) => c.type === "ContainersReady")?.status, "False");
        assert.equal(notReady?.containerStatuses[0]?.ready, false);
        const first = containerId(running, "app") ?? "";
        await exec(tm.cri, first, "touch /tmp/ready");
        await waitFor(
          "Ready True",
          () => tm.manager.status(uid)?.conditions.find((c) => c.type === "Ready")?.status === "True",
        );
        await exec(tm.cri, first, "rm /tmp/healthy");
        const restarted = await waitFor("restart after liveness failure", () => {
          const s = tm.manager.status(uid)?.containerStatuses[0];
          return s?.restartCount === 1 && s.state.running && s;
        });
        assert.notEqual(restarted.containerID, `containerd://${first}`);
        assert.equal(restarted.lastState.terminated?.containerID, `containerd://${first}`);
        tm.manager.handle({ op: "delete", pod });
      },
    );

    await t.step(
      "deletion runs preStop, then SIGTERM, and kills a container that ignores SIGTERM after the grace period",
      async () => {
        const shared = join(rt.run.path, "term");
        await Deno.mkdir(shared, { recursive: true });
        const pod = testPod("graceful", {
          terminationGracePeriodSeconds: 3,
          volumes: [{ name: "out", hostPath: { path: shared } }],
          containers: [
            {
              name: "polite",
              image: rt.images.busybox,
              command: [
                "sh",
                "-c",
                'trap "echo term >> /out/log; exit 0" TERM; while true; do sleep 0.1; done',
              ],
              lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo prestop >> /out/log"] } } },
              volumeMounts: [{ name: "out", mountPath: "/out" }],
            },
            { name: "stubborn", image: rt.images.busybox, command: ["sleep", "3600"] },
          ],
        });
        const uid = pod.metadata.uid ?? "";
        tm.manager.handle({ op: "add", pod });
        await waitFor(
          "running",
          () => tm.manager.status(uid)?.containerStatuses.every((c) => c.state.running),
        );
        const started = Date.now();
        tm.manager.handle({ op: "delete", pod });
        await waitFor("removed", () => tm.statuses.removed.has(uid), 20_000, 50);
        const took = Date.now() - started;
        assert.equal(await Deno.readTextFile(join(shared, "log")), "prestop\nterm\n");
        assert.ok(
          took >= 2500 && took < 10_000,
          `the SIGTERM-ignoring container was killed after ${took} ms`,
        );
      },
    );

    await t.step(
      "images pull from the local registry with IfNotPresent and Always; a missing image gives ImagePullBackOff",
      async () => {
        const layout = await imageLayout();
        const moving = await rt.registry.push(layout, "busybox", "kedge/moving");
        const digestOf = (id: string | undefined) => id?.split("@")[1];
        const run = async (name: string, policy: "IfNotPresent" | "Always") => {
          const pod = testPod(name, {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "c", image: moving, imagePullPolicy: policy, command: ["sleep", "3600"] }],
          });
          tm.manager.handle({ op: "add", pod });
          const uid = pod.metadata.uid ?? "";
          const s = await waitFor(
            `${name} running`,
            () => tm.manager.status(uid)?.containerStatuses[0]?.state.running && tm.manager.status(uid),
          );
          tm.manager.handle({ op: "delete", pod });
          return digestOf(s.containerStatuses[0]?.imageID);
        };
        const first = await run("pull-first", "IfNotPresent");
        await rt.registry.push(layout, "busybox2", "kedge/moving");
        const cached = await run("pull-cached", "IfNotPresent");
        const always = await run("pull-always", "Always");
        assert.equal(cached, first, "IfNotPresent uses the image already there");
        assert.notEqual(always, first, "Always pulls the new image behind the same tag");

        const pod = testPod("missing", {
          containers: [{ name: "c", image: rt.images.missing, command: ["true"] }],
        });
        const uid = pod.metadata.uid ?? "";
        tm.manager.handle({ op: "add", pod });
        // Every status the manager reported, in order: the first failed pull is ErrImagePull with the
        // registry's reason, and the retries that follow wait in ImagePullBackOff. ErrImagePull lasts only
        // until the next sync, so polling the current status may never see it.
        const pullWaits = () =>
          (tm.statuses.history.get(uid) ?? []).map((s) => s.containerStatuses[0]?.state.waiting)
            .filter((w) => w?.reason === "ErrImagePull" || w?.reason === "ImagePullBackOff");
        await waitFor(
          "ImagePullBackOff reported",
          () => pullWaits().some((w) => w?.reason === "ImagePullBackOff"),
          20_000,
        );
        const [firstPull] = pullWaits();
        const seen = pullWaits().map((w) => w?.reason);
        assert.equal(firstPull?.reason, "ErrImagePull", `reasons reported: ${seen}`);
        assert.ok(firstPull?.message?.includes(rt.images.missing), `message: ${firstPull?.message}`);
        assert.match(firstPull?.message ?? "", /not found/, "the message says why the pull failed");
        const now = tm.manager.status(uid);
        const waiting = now?.containerStatuses[0]?.state.waiting;
        assert.ok(
          waiting?.reason === "ErrImagePull" || waiting?.reason === "ImagePullBackOff",
          `waiting: ${JSON.stringify(waiting)}`,
        );
        assert.ok(waiting?.message?.includes(rt.images.missing), `message: ${waiting?.message}`);
        assert.equal(now?.phase, "Pending");
        assert.ok(tm.manager.healthy());
        tm.manager.handle({ op: "delete", pod });
      },
    );
  } finally {
    await tm.stop();
    await rt.stop();
  }
});
