import assert from "node:assert/strict";
import { computePodStatus } from "./pod_status.ts";
import { parsePod } from "./pod_schema.ts";
import type { RuntimeContainer, RuntimePod } from "./runtime_state.ts";

const NOW = new Date("2026-12-06T10:00:00Z");
const NS = 1_780_000_000_000 * 1e6;

function exited(name: string, type: "init" | "regular", exitCode: number): RuntimeContainer {
  return {
    id: `${type}-${name}`,
    sandboxId: "sb",
    name,
    type,
    hash: "h",
    restartCount: 0,
    attempt: 0,
    state: "CONTAINER_EXITED",
    createdAt: NS,
    startedAt: NS,
    finishedAt: NS,
    exitCode,
    reason: "",
    message: "",
    image: "busybox",
    imageRef: "busybox@sha256:0",
    annotations: {},
  };
}

function statusOf(containers: RuntimeContainer[]) {
  const pod = parsePod({
    metadata: { name: "p", uid: "u" },
    spec: {
      restartPolicy: "Never",
      initContainers: [{ name: "init", image: "busybox" }],
      containers: [{ name: "main", image: "busybox" }],
    },
  });
  const runtime: RuntimePod = {
    uid: "u",
    name: "p",
    namespace: "default",
    sandboxes: [{ id: "sb", ready: false, attempt: 0, createdAt: NS, ip: "", labels: {}, annotations: {} }],
    containers,
  };
  return computePodStatus({
    ctx: { pod, uid: "u", namespace: "default", nodeName: "n", hostIP: "192.0.2.1", podIP: "" },
    runtime,
    waiting: new Map(),
    ready: () => false,
    started: () => false,
    previous: undefined,
    now: NOW,
  });
}

const condition = (s: ReturnType<typeof statusOf>, type: string) => {
  const c = s.conditions.find((c) => c.type === type);
  return [c?.status, c?.reason];
};

Deno.test("a succeeded pod: its completed init container is ready; Initialized True and Ready False say PodCompleted", () => {
  const s = statusOf([exited("main", "regular", 0), exited("init", "init", 0)]);
  assert.equal(s.phase, "Succeeded");
  assert.equal(s.initContainerStatuses?.[0]?.ready, true);
  assert.deepEqual(condition(s, "Initialized"), ["True", "PodCompleted"]);
  assert.deepEqual(condition(s, "ContainersReady"), ["False", "PodCompleted"]);
  assert.deepEqual(condition(s, "Ready"), ["False", "PodCompleted"]);
});

Deno.test("an init container that failed under restartPolicy Never: Failed, not ready, ContainersNotInitialized and PodFailed", () => {
  const s = statusOf([exited("init", "init", 1)]);
  assert.equal(s.phase, "Failed");
  assert.equal(s.initContainerStatuses?.[0]?.ready, false);
  assert.deepEqual(condition(s, "Initialized"), ["False", "ContainersNotInitialized"]);
  assert.equal(
    s.conditions.find((c) => c.type === "Initialized")?.message,
    "containers with incomplete status: [init]",
  );
  assert.deepEqual(condition(s, "Ready"), ["False", "PodFailed"]);
});

Deno.test("before anything runs, every container of a pod with init containers waits with PodInitializing", () => {
  const s = statusOf([]);
  assert.equal(s.phase, "Pending");
  assert.equal(s.initContainerStatuses?.[0]?.state.waiting?.reason, "PodInitializing");
  assert.equal(s.containerStatuses[0]?.state.waiting?.reason, "PodInitializing");
  assert.equal(
    s.conditions.find((c) => c.type === "Ready")?.message,
    "containers with unready status: [main]",
  );
});
