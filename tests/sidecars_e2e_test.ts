// Issue 14 end to end: sidecar containers (init containers with restartPolicy Always, KEP-753) on a real
// edgecore and containerd, pods applied with kubectl. A sidecar starts in order with the init containers and
// the next one starts once it started (its startupProbe passed), not when it exits; it runs beside the main
// container and is restarted when it exits while the pod stays Running; under restartPolicy Never the main
// container's exit ends the pod (Succeeded) and the sidecar is stopped; a deleted pod stops its main
// container before its sidecar, and turns unready while they stop.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCriClient } from "../edge/cri/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

interface ContainerStatusJson {
  name: string;
  containerID?: string;
  restartCount: number;
  started?: boolean;
  ready: boolean;
  state: {
    running?: { startedAt: string };
    waiting?: { reason: string };
    terminated?: { exitCode: number; startedAt: string; finishedAt: string };
  };
}
interface PodJson {
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    initContainerStatuses?: ContainerStatusJson[];
    containerStatuses?: ContainerStatusJson[];
  };
}

Deno.test("sidecar containers on an edge node: order, restarts, Never pods, termination order", async (t) => {
  await using env = await startPodEdge("sidecars");
  const { kubectl, rt, run } = env;
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  try {
    // Where the containers say in which order they stopped: a host folder outlives the deleted pod.
    const hostDir = join(run.path, "order");
    await Deno.mkdir(hostDir, { recursive: true });

    const busybox = rt.images.busybox;
    await kubectl(
      ["apply", "-f", "-"],
      `
apiVersion: v1
kind: Pod
metadata: {name: with-sidecar, namespace: default}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 15
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: host, hostPath: {path: "${hostDir}", type: Directory}}
  initContainers:
  - name: logger
    image: ${busybox}
    restartPolicy: Always
    # Up only after 3 s, which its startup probe waits for; exits 1 when /shared/crash appears. On SIGTERM it
    # turns unready at once and takes 5 s to stop.
    command: [sh, -c, "trap 'rm -f /shared/ready; echo sidecar >> /host/order; sleep 5; exit 0' TERM; sleep 3; touch /shared/up /shared/ready; while true; do if [ -f /shared/crash ]; then rm /shared/crash; exit 1; fi; sleep 1; done"]
    startupProbe: {exec: {command: [cat, /shared/up]}, periodSeconds: 1, failureThreshold: 30}
    readinessProbe: {exec: {command: [cat, /shared/ready]}, periodSeconds: 1, failureThreshold: 1}
    volumeMounts: [{name: shared, mountPath: /shared}, {name: host, mountPath: /host}]
  - name: setup
    image: ${busybox}
    command: [sh, -c, "if [ -f /shared/up ]; then echo after-sidecar-started; else echo too-early; fi > /shared/setup"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: main
    image: ${busybox}
    # Takes 2 s to stop: a sidecar stopped at the same time would write its line first.
    command: [sh, -c, "trap 'sleep 2; echo main >> /host/order; exit 0' TERM; while true; do sleep 1; done"]
    volumeMounts: [{name: shared, mountPath: /shared}, {name: host, mountPath: /host}]
---
apiVersion: v1
kind: Pod
metadata: {name: job-with-sidecar, namespace: default}
spec:
  nodeName: edge-1
  restartPolicy: Never
  terminationGracePeriodSeconds: 15
  initContainers:
  - name: helper
    image: ${busybox}
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
  containers:
  - name: main
    image: ${busybox}
    command: [sh, -c, "sleep 3; exit 0"]
`,
    );
    const get = async (name: string): Promise<PodJson> =>
      JSON.parse(await kubectl(["get", "pod", name, "-o", "json"]));
    const statusOf = (pod: PodJson, name: string) =>
      [...pod.status?.initContainerStatuses ?? [], ...pod.status?.containerStatuses ?? []].find((c) =>
        c.name === name
      );
    const condition = (pod: PodJson, type: string) =>
      pod.status?.conditions?.find((c) => c.type === type)?.status;
    const idOf = (s: ContainerStatusJson | undefined) => s?.containerID?.replace("containerd://", "") ?? "";

    await t.step(
      "the sidecar runs beside the main container; the next init container started once the sidecar's startup probe passed",
      async () => {
        const pod = await waitFor(
          "with-sidecar Ready",
          async () => {
            const p = await get("with-sidecar");
            return p.status?.phase === "Running" && condition(p, "Ready") === "True" && p;
          },
          90_000,
          500,
        );
        assert.equal(condition(pod, "Initialized"), "True");
        const logger = statusOf(pod, "logger");
        assert.ok(logger?.state.running, "the sidecar runs");
        assert.equal(logger?.started, true);
        assert.equal(logger?.ready, true);
        assert.equal(statusOf(pod, "setup")?.state.terminated?.exitCode, 0);
        assert.ok(statusOf(pod, "main")?.state.running, "the main container runs");
        const main = idOf(statusOf(pod, "main"));
        // setup saw the file the sidecar writes 3 s after it starts: it waited for the startup probe.
        assert.equal(await exec(cri, main, "cat /shared/setup"), "after-sidecar-started\n");
        const running = (await cri.listContainers()).filter((c) => c.state === "CONTAINER_RUNNING")
          .map((c) => c.id);
        assert.ok(running.includes(idOf(logger)) && running.includes(main), "both run in containerd");
      },
    );

    await t.step(
      "a sidecar that exits is restarted (restartCount grows) while the pod stays Running",
      async () => {
        const before = await get("with-sidecar");
        const main = idOf(statusOf(before, "main"));
        await exec(cri, main, "touch /shared/crash");
        const phases = new Set<string>();
        const after = await waitFor(
          "the sidecar restarted and running",
          async () => {
            const p = await get("with-sidecar");
            phases.add(p.status?.phase ?? "none");
            const logger = statusOf(p, "logger");
            return (logger?.restartCount ?? 0) >= 1 && logger?.state.running && logger.started && p;
          },
          60_000,
          300,
        );
        assert.deepEqual([...phases], ["Running"]);
        assert.equal(statusOf(after, "main")?.restartCount, 0, "the main container kept running");
        assert.equal(idOf(statusOf(after, "main")), main);
        assert.notEqual(idOf(statusOf(after, "logger")), idOf(statusOf(before, "logger")));
        // Not started over: setup did not run again.
        assert.equal(statusOf(after, "setup")?.restartCount, 0);
      },
    );

    await t.step(
      "restartPolicy Never: the main container exits 0, the pod is Succeeded and its sidecar is stopped",
      async () => {
        const pod = await waitFor(
          "job-with-sidecar Succeeded",
          async () => {
            const p = await get("job-with-sidecar");
            return p.status?.phase === "Succeeded" && p;
          },
          60_000,
          500,
        );
        const main = statusOf(pod, "main")?.state.terminated;
        const helper = statusOf(pod, "helper")?.state.terminated;
        assert.equal(main?.exitCode, 0);
        assert.ok(helper, "the sidecar is stopped");
        assert.ok(Date.parse(helper.finishedAt) >= Date.parse(main?.finishedAt ?? ""), "after the main one");
        const live = (await cri.listContainers()).filter((c) => c.state === "CONTAINER_RUNNING").map((c) =>
          c.id
        );
        assert.ok(!live.includes(idOf(statusOf(pod, "helper"))), "not running in containerd");
      },
    );

    await t.step(
      "a deleted pod stops its main container first, then its sidecar, and is not Ready while they stop",
      async () => {
        // Ready again since the sidecar's restart, so that what follows is the termination's doing.
        await waitFor(
          "with-sidecar Ready again",
          async () => {
            const p = await get("with-sidecar");
            return condition(p, "Ready") === "True" && statusOf(p, "logger")?.ready;
          },
          30_000,
          300,
        );
        const started = Date.now();
        await kubectl(["delete", "pod", "with-sidecar", "--wait=false"]);
        // The sidecar turns unready on its SIGTERM, after the main container stopped, and takes 5 s more.
        const unready = await waitFor(
          "the terminating pod not Ready",
          async () => {
            const p = await get("with-sidecar");
            return condition(p, "Ready") === "False" && p;
          },
          20_000,
          200,
        );
        assert.equal(statusOf(unready, "logger")?.ready, false);
        const order = await waitFor(
          "both containers stopped",
          async () => {
            const text = await Deno.readTextFile(join(hostDir, "order")).catch(() => "");
            return text.split("\n").filter(Boolean).length >= 2 && text;
          },
          30_000,
          200,
        );
        assert.equal(order, "main\nsidecar\n");
        await waitFor(
          "the pod gone",
          async () => {
            const names = await kubectl(["get", "pods", "-o", "name"]);
            return !names.includes("pod/with-sidecar\n") && true;
          },
          30_000,
          300,
        );
        // 2 s for the main container, 5 s for the sidecar: neither was killed at the end of the grace period.
        assert.ok(Date.now() - started < 14_000, `gone after ${Date.now() - started} ms`);
      },
    );
  } finally {
    cri.close();
  }
});
