// Restarts: edgecore (the pod manager in a child process) killed with SIGKILL adopts the running containers;
// a containerd "reboot" (all tasks killed) brings the pods back; a hung containerd (SIGSTOP) makes CRI calls
// time out while the manager stays responsive, and it recovers on SIGCONT.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PodStatus } from "../edge/pods/mod.ts";
import { type Spawned, spawnLogged } from "./cluster/processes.ts";
import { startTestRuntime, type TestRuntime } from "./containerd/mod.ts";
import { startTestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";

const FIXTURE = fileURLToPath(new URL("./containerd/pod_manager_fixture.ts", import.meta.url));

function manifest(image: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
    - {name: init, image: "${image}", command: ["true"]}
  containers:
    - {name: a, image: "${image}", command: ["sleep", "3600"]}
    - {name: b, image: "${image}", command: ["sleep", "3600"]}
`;
}

async function readStatuses(file: string): Promise<Record<string, PodStatus>> {
  return JSON.parse(await Deno.readTextFile(file)) as Record<string, PodStatus>;
}

async function runningIds(rt: TestRuntime): Promise<string[]> {
  const out = await rt.containerd.ctr(["containers", "ls", "-q"]);
  const tasks = await rt.containerd.ctr(["tasks", "ls"]);
  const running = new Set(
    tasks.split("\n").filter((l) => l.includes("RUNNING")).map((l) => l.split(/\s+/)[0]),
  );
  return out.split("\n").filter((id) => id && running.has(id)).sort();
}

Deno.test("pods survive edgecore and containerd restarts, and a hung containerd", async (t) => {
  const rt = await startTestRuntime("pods-restart");
  const dir = rt.run.path;
  const manifests = join(dir, "manifests");
  const statusFile = join(dir, "status.json");
  await Deno.mkdir(manifests, { recursive: true });
  await Deno.writeTextFile(join(manifests, "keeper.yaml"), manifest(rt.images.busybox));
  let fixture: Spawned | undefined;
  const startFixture = async () => {
    await Deno.remove(statusFile).catch(() => {});
    fixture = await spawnLogged(rt.run, "edgecore", Deno.execPath(), [
      "run",
      "--allow-all",
      "--frozen",
      FIXTURE,
      rt.containerd.endpoint,
      manifests,
      join(dir, "edged"),
      join(dir, "pod-logs"),
      statusFile,
      rt.images.pause,
    ]);
  };
  const podRunning = () =>
    waitFor(
      "pod running with 2 ready containers",
      async () => {
        const pods = Object.values(await readStatuses(statusFile));
        return pods.length === 1 && pods[0]?.containerStatuses.every((c) => c.ready) && pods[0];
      },
      60_000,
      200,
    );
  try {
    await t.step("edgecore killed with -9 and restarted keeps the same container IDs running", async () => {
      await startFixture();
      const before = await podRunning();
      const ids = await runningIds(rt);
      assert.equal(ids.length, 3, "sandbox + 2 containers");
      const all = (await rt.containerd.ctr(["containers", "ls", "-q"])).split("\n").filter(Boolean).sort();
      fixture?.status && Deno.kill(fixture.pid, "SIGKILL");
      await fixture?.status;
      await startFixture();
      const after = await podRunning();
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(await runningIds(rt), ids, "the same sandbox and containers run");
      assert.deepEqual(
        (await rt.containerd.ctr(["containers", "ls", "-q"])).split("\n").filter(Boolean).sort(),
        all,
        "nothing was created or removed",
      );
      assert.deepEqual(
        after.containerStatuses.map((c) => c.containerID),
        before.containerStatuses.map((c) => c.containerID),
      );
      assert.deepEqual(after.containerStatuses.map((c) => c.restartCount), [0, 0]);
      assert.equal(after.startTime, before.startTime);
    });

    await t.step("containerd restarted with every task killed (a reboot): the pod comes back", async () => {
      const ids = await runningIds(rt);
      await rt.containerd.reboot();
      const back = await waitFor(
        "pod back with new containers",
        async () => {
          const pod = Object.values(await readStatuses(statusFile))[0];
          const now = await runningIds(rt);
          return pod?.containerStatuses.every((c) =>
            c.ready && !ids.includes(c.containerID?.slice(13) ?? "")
          ) &&
            now.length === 3 && pod;
        },
        60_000,
        300,
      ).catch(async (err) => {
        const tail = async (f: string) =>
          (await Deno.readTextFile(join(dir, f)).catch(() => "")).split("\n").slice(-25).join("\n");
        throw new Error(
          `${err}\nedgecore.log:\n${await tail("edgecore.log")}\ncontainerd.log:\n${await tail(
            "containerd.log",
          )}\nstatus: ${await Deno.readTextFile(statusFile).catch(() => "")}`,
        );
      });
      assert.equal(back.phase, "Running");
      assert.ok(
        back.containerStatuses.every((c) => c.restartCount === 1),
        JSON.stringify(back.containerStatuses),
      );
      await fixture?.stop(5000);
      fixture = undefined;
    });

    await t.step(
      "a hung containerd makes CRI calls time out; the manager stays responsive and recovers",
      async () => {
        await Deno.remove(join(manifests, "keeper.yaml"));
        const tm = await startTestManager(rt, { relistPeriodMs: 200 }, 1000);
        try {
          const pod = testPod("during-hang", {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "c", image: rt.images.busybox, command: ["sleep", "3600"] }],
          });
          const uid = pod.metadata.uid ?? "";
          await rt.containerd.freeze();
          try {
            await waitFor("relist failing", () => !tm.manager.healthy(), 10_000);
            const started = performance.now();
            tm.manager.handle({ op: "add", pod });
            tm.manager.status(uid);
            tm.manager.pods();
            assert.ok(performance.now() - started < 50, "handle and status answer at once");
            await new Promise((r) => setTimeout(r, 2500));
            assert.notEqual(tm.manager.status(uid)?.phase, "Running");
          } finally {
            rt.containerd.thaw();
          }
          await waitFor("relist recovered", () => tm.manager.healthy(), 10_000);
          await waitFor(
            "pod running after recovery",
            () => tm.manager.status(uid)?.phase === "Running",
            30_000,
          );
          tm.manager.handle({ op: "delete", pod });
          await waitFor("removed", () => tm.statuses.removed.has(uid), 20_000);
        } finally {
          await tm.stop();
        }
      },
    );
  } finally {
    await fixture?.stop(2000);
    await rt.stop();
  }
});
