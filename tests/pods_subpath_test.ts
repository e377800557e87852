// Pod manager on a real containerd: volumeMounts with subPath and subPathExpr (configMap, secret, emptyDir,
// a missing one created), a subPath symlink planted by another container refused, a privileged container.
import assert from "node:assert/strict";
import { startTestRuntime } from "./containerd/mod.ts";
import {
  containerId,
  exec,
  memoryObjects,
  startTestManager,
  testPod,
  waitFor,
} from "./containerd/pod_helpers.ts";

Deno.test("subPath mounts, a privileged container and the pod's namespaces on containerd", async (t) => {
  const rt = await startTestRuntime("subpath");
  const objects = memoryObjects();
  objects.setConfigMap("default", "files", { data: { "app.conf": "port=8080\n", other: "x" } });
  objects.setSecret("default", "keys", { data: { token: btoa("t0ken") } });
  const tm = await startTestManager(rt, { objects });
  try {
    await t.step("configMap, secret and emptyDir subPaths, a missing one created, subPathExpr", async () => {
      const pod = testPod("sub", {
        terminationGracePeriodSeconds: 1,
        initContainers: [{
          name: "seed",
          image: rt.images.busybox,
          command: ["sh", "-c", "mkdir -p /work/seeded && echo from-init > /work/seeded/file"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        }],
        containers: [{
          name: "app",
          image: rt.images.busybox,
          command: ["sleep", "3600"],
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          volumeMounts: [
            { name: "config", mountPath: "/etc/app.conf", subPath: "app.conf" },
            { name: "secret", mountPath: "/run/token", subPath: "token" },
            { name: "work", mountPath: "/seeded", subPath: "seeded" },
            { name: "work", mountPath: "/fresh", subPath: "a/b" },
            { name: "work", mountPath: "/mine", subPathExpr: "pods/$(POD_NAME)" },
            { name: "work", mountPath: "/work" },
          ],
        }],
        volumes: [
          { name: "config", configMap: { name: "files" } },
          { name: "secret", secret: { secretName: "keys" } },
          { name: "work", emptyDir: {} },
        ],
      });
      const uid = pod.metadata.uid ?? "";
      tm.manager.handle({ op: "add", pod });
      const status = await waitFor(
        "pod running",
        () => tm.manager.status(uid)?.phase === "Running" && tm.manager.status(uid),
      );
      const app = containerId(status, "app") ?? "";
      assert.equal(await exec(tm.cri, app, "cat /etc/app.conf"), "port=8080\n");
      assert.equal(
        await exec(tm.cri, app, "ls /etc/app.conf"),
        "/etc/app.conf\n",
        "a file, not the whole volume",
      );
      assert.equal(await exec(tm.cri, app, "cat /run/token"), "t0ken");
      assert.equal(await exec(tm.cri, app, "cat /seeded/file"), "from-init\n");
      await exec(tm.cri, app, "echo written > /fresh/x; echo mine > /mine/y");
      assert.equal(await exec(tm.cri, app, "cat /work/a/b/x /work/pods/sub/y"), "written\nmine\n");
      tm.manager.handle({ op: "delete", pod });
      await waitFor("pod removed", () => tm.statuses.removed.has(uid), 60_000);
    });

    await t.step("a subPath that a container made a symlink out of the volume is refused", async () => {
      const pod = testPod("escape", {
        terminationGracePeriodSeconds: 1,
        restartPolicy: "Never",
        initContainers: [{
          name: "plant",
          image: rt.images.busybox,
          command: ["sh", "-c", "ln -s / /work/escape && ln -s /etc /work/etc"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        }],
        containers: [{
          name: "victim",
          image: rt.images.busybox,
          command: ["sleep", "3600"],
          volumeMounts: [{ name: "work", mountPath: "/host", subPath: "escape" }],
        }],
        volumes: [{ name: "work", emptyDir: {} }],
      });
      const uid = pod.metadata.uid ?? "";
      tm.manager.handle({ op: "add", pod });
      const waiting = await waitFor("victim refused", () => {
        const w = tm.manager.status(uid)?.containerStatuses.find((c) => c.name === "victim")?.state.waiting;
        return w?.reason === "CreateContainerConfigError" && w;
      });
      assert.match(waiting.message ?? "", /subPath escape resolves to \/, outside the volume/);
      assert.equal(tm.manager.status(uid)?.containerStatuses[0]?.containerID, undefined, "never created");
      tm.manager.handle({ op: "delete", pod });
      await waitFor("pod removed", () => tm.statuses.removed.has(uid), 60_000);
    });

    await t.step("a privileged container runs: its sandbox is privileged too", async () => {
      const pod = testPod("priv", {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "root",
          image: rt.images.busybox,
          command: ["sleep", "3600"],
          securityContext: { privileged: true },
        }],
      });
      const uid = pod.metadata.uid ?? "";
      tm.manager.handle({ op: "add", pod });
      const status = await waitFor("privileged pod running", () => {
        const s = tm.manager.status(uid);
        return s?.containerStatuses[0]?.state.running && s;
      });
      // Unprivileged containers get /proc/sys read-only and /sys/firmware masked; this one does not.
      const id = containerId(status, "root") ?? "";
      assert.equal(await exec(tm.cri, id, "grep ' /proc/sys ' /proc/mounts | grep -c ' ro,' || true"), "0\n");
      tm.manager.handle({ op: "delete", pod });
      await waitFor("pod removed", () => tm.statuses.removed.has(uid), 60_000);
    });

    await t.step(
      "hostPID and hostIPC give the node's namespaces, shareProcessNamespace one for the pod",
      async () => {
        const sleeper = (name: string) => ({ name, image: rt.images.busybox, command: ["sleep", "3600"] });
        const host = testPod("host-ns", {
          terminationGracePeriodSeconds: 1,
          hostPID: true,
          hostIPC: true,
          containers: [sleeper("main")],
        });
        const shared = testPod("shared-ns", {
          terminationGracePeriodSeconds: 1,
          shareProcessNamespace: true,
          containers: [sleeper("a"), sleeper("b")],
        });
        const own = testPod("own-ns", { terminationGracePeriodSeconds: 1, containers: [sleeper("main")] });
        const running = async (pod: typeof host) => {
          tm.manager.handle({ op: "add", pod });
          const uid = pod.metadata.uid ?? "";
          return await waitFor(`${pod.metadata.name} running`, () => {
            const s = tm.manager.status(uid);
            return s?.containerStatuses.every((c) => c.state.running) && s;
          });
        };
        const inHost = containerId(await running(host), "main") ?? "";
        const ns = (kind: string) => Deno.readLinkSync(`/proc/self/ns/${kind}`);
        assert.equal(await exec(tm.cri, inHost, "readlink /proc/self/ns/pid"), `${ns("pid")}\n`);
        assert.equal(await exec(tm.cri, inHost, "readlink /proc/self/ns/ipc"), `${ns("ipc")}\n`);
        const sharedStatus = await running(shared);
        assert.equal(await exec(tm.cri, containerId(sharedStatus, "a") ?? "", "cat /proc/1/comm"), "pause\n");
        assert.match(
          await exec(tm.cri, containerId(sharedStatus, "a") ?? "", "ps -o comm"),
          /sleep\n(.|\n)*sleep/,
        );
        const inOwn = containerId(await running(own), "main") ?? "";
        assert.equal(await exec(tm.cri, inOwn, "cat /proc/1/comm"), "sleep\n");
        assert.notEqual(await exec(tm.cri, inOwn, "readlink /proc/self/ns/ipc"), `${ns("ipc")}\n`);
        for (const pod of [host, shared, own]) tm.manager.handle({ op: "delete", pod });
        for (const pod of [host, shared, own]) {
          await waitFor("pod removed", () => tm.statuses.removed.has(pod.metadata.uid ?? ""), 60_000);
        }
      },
    );
  } finally {
    await tm.stop();
    await rt.stop();
  }
});
