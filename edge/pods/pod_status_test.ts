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

function running(name: string, type: "init" | "regular"): RuntimeContainer {
  return { ...exited(name, type, 0), state: "CONTAINER_RUNNING", finishedAt: 0 };
}

/** A pod with a sidecar (readiness-probed) and a regular container; `ready`/`started` name who passes. */
function sidecarStatus(
  containers: RuntimeContainer[],
  opts: {
    policy?: "Always" | "Never";
    ready?: string[];
    started?: string[];
    waiting?: [string, string][];
    terminal?: boolean;
  } = {},
) {
  const pod = parsePod({
    metadata: { name: "p", uid: "u" },
    spec: {
      restartPolicy: opts.policy ?? "Always",
      initContainers: [{
        name: "sidecar",
        image: "busybox",
        restartPolicy: "Always",
        readinessProbe: { exec: { command: ["true"] } },
      }],
      containers: [{ name: "main", image: "busybox" }],
    },
  });
  const runtime: RuntimePod = {
    uid: "u",
    name: "p",
    namespace: "default",
    sandboxes: [{
      id: "sb",
      ready: true,
      attempt: 0,
      createdAt: NS,
      ip: "10.0.0.2",
      labels: {},
      annotations: {},
    }],
    containers,
  };
  const names = (list: string[] | undefined) => (_: string, spec: { name: string }) =>
    (list ?? ["sidecar", "main"]).includes(spec.name);
  return computePodStatus({
    ctx: { pod, uid: "u", namespace: "default", nodeName: "n", hostIP: "192.0.2.1", podIP: "" },
    runtime,
    waiting: new Map((opts.waiting ?? []).map(([key, reason]) => [key, { reason }])),
    ready: names(opts.ready),
    started: names(opts.started),
    previous: undefined,
    now: NOW,
    terminal: opts.terminal,
  });
}

Deno.test("a running sidecar: in initContainerStatuses, running, started and ready; the pod Running and Ready", () => {
  const s = sidecarStatus([running("main", "regular"), running("sidecar", "init")]);
  assert.equal(s.phase, "Running");
  const sidecar = s.initContainerStatuses?.[0];
  assert.ok(sidecar?.state.running);
  assert.equal(sidecar?.started, true);
  assert.equal(sidecar?.ready, true);
  assert.deepEqual(condition(s, "Initialized"), ["True", undefined]);
  assert.deepEqual(condition(s, "Ready"), ["True", undefined]);
});

Deno.test("a sidecar whose readiness probe fails keeps the pod from Ready", () => {
  const s = sidecarStatus([running("main", "regular"), running("sidecar", "init")], { ready: ["main"] });
  assert.equal(s.initContainerStatuses?.[0]?.ready, false);
  assert.deepEqual(condition(s, "Ready"), ["False", "ContainersNotReady"]);
  assert.equal(
    s.conditions.find((c) => c.type === "Ready")?.message,
    "containers with unready status: [sidecar]",
  );
});

Deno.test("a sidecar that has not started (startup probe) leaves the pod Pending and not Initialized", () => {
  const s = sidecarStatus([running("sidecar", "init")], { started: [] });
  assert.equal(s.phase, "Pending");
  assert.equal(s.initContainerStatuses?.[0]?.started, false);
  assert.deepEqual(condition(s, "Initialized"), ["False", "ContainersNotInitialized"]);
  assert.equal(
    s.conditions.find((c) => c.type === "Initialized")?.message,
    "containers with incomplete status: [sidecar]",
  );
  const started = sidecarStatus([running("sidecar", "init")]);
  assert.deepEqual(condition(started, "Initialized"), ["True", undefined]);
});

Deno.test("a sidecar in crash-loop backoff beside a running container: the pod stays Running and Initialized", () => {
  const s = sidecarStatus([running("main", "regular"), exited("sidecar", "init", 1)], {
    waiting: [["init/sidecar", "CrashLoopBackOff"]],
  });
  assert.equal(s.phase, "Running");
  assert.equal(s.initContainerStatuses?.[0]?.state.waiting?.reason, "CrashLoopBackOff");
  assert.equal(s.initContainerStatuses?.[0]?.lastState.terminated?.exitCode, 1);
  assert.deepEqual(condition(s, "Initialized"), ["True", undefined]);
  assert.deepEqual(condition(s, "Ready"), ["False", "ContainersNotReady"]);
});

Deno.test("restartPolicy Never: the main container's exit decides; the pod is Succeeded once the sidecar stopped", () => {
  const whileSidecarRuns = sidecarStatus([exited("main", "regular", 0), running("sidecar", "init")], {
    policy: "Never",
  });
  assert.equal(whileSidecarRuns.phase, "Running");
  // Stopped by the kill (143) or not: a sidecar's exit code does not make the pod fail.
  const stopped = sidecarStatus([exited("main", "regular", 0), exited("sidecar", "init", 143)], {
    policy: "Never",
  });
  assert.equal(stopped.phase, "Succeeded");
  const failed = sidecarStatus([exited("main", "regular", 1), exited("sidecar", "init", 0)], {
    policy: "Never",
  });
  assert.equal(failed.phase, "Failed");
});

Deno.test("readiness gates hold Ready back until their conditions are True, in the kubelet's words", () => {
  const pod = parsePod({
    metadata: { name: "g", uid: "g" },
    spec: {
      readinessGates: [{ conditionType: "example.com/lb" }],
      containers: [{ name: "main", image: "b" }],
    },
  });
  const running = { ...exited("main", "regular", 0), state: "CONTAINER_RUNNING" as const, finishedAt: 0 };
  const status = (conditions?: Array<{ type: string; status: string }>) =>
    computePodStatus({
      ctx: { pod, uid: "g", namespace: "default", nodeName: "n", hostIP: "192.0.2.1", podIP: "" },
      runtime: {
        uid: "g",
        name: "g",
        namespace: "default",
        sandboxes: [{
          id: "sb",
          ready: true,
          attempt: 0,
          createdAt: NS,
          ip: "10.0.0.2",
          labels: {},
          annotations: {},
        }],
        containers: [running],
      },
      waiting: new Map(),
      ready: () => true,
      started: () => true,
      previous: undefined,
      recorded: conditions ? { conditions } : undefined,
      now: NOW,
    });
  const ready = (s: ReturnType<typeof status>) => s.conditions.find((c) => c.type === "Ready");
  const missing = status();
  assert.deepEqual(condition(missing, "ContainersReady"), ["True", undefined]);
  assert.deepEqual([ready(missing)?.status, ready(missing)?.reason, ready(missing)?.message], [
    "False",
    "ReadinessGatesNotReady",
    'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
  ]);
  assert.equal(
    ready(status([{ type: "example.com/lb", status: "False" }]))?.message,
    'the status of pod readiness gate "example.com/lb" is not "True", but False',
  );
  assert.deepEqual(condition(status([{ type: "example.com/lb", status: "True" }]), "Ready"), [
    "True",
    undefined,
  ]);
});

Deno.test("a pod stopped for its deletion is terminal whatever its restart policy, as TerminatePod makes it", () => {
  const stopped = (mainExit: number) => [exited("sidecar", "init", 137), exited("main", "regular", mainExit)];
  // restartPolicy Always: without the deletion, exited containers are about to restart.
  assert.equal(sidecarStatus(stopped(0)).phase, "Running");
  const succeeded = sidecarStatus(stopped(0), { terminal: true });
  assert.equal(succeeded.phase, "Succeeded", "the main container exited 0; a stopped sidecar does not count");
  const failed = sidecarStatus(stopped(137), { terminal: true });
  assert.equal(failed.phase, "Failed");
  assert.deepEqual(condition(failed, "Ready"), ["False", "PodFailed"]);
  const nothing = sidecarStatus([], { terminal: true });
  assert.equal(nothing.phase, "Failed");
  assert.equal(
    nothing.containerStatuses[0]?.state.waiting?.reason,
    "PodInitializing",
    "it never initialized",
  );
  // Initialized (the sidecar started), but the main container never ran: terminated, status unknown, 137.
  const initialized = sidecarStatus([running("sidecar", "init")], { terminal: true });
  assert.equal(initialized.phase, "Failed", "never Pending or Running again");
  assert.deepEqual(initialized.containerStatuses[0]?.state.terminated, {
    exitCode: 137,
    reason: "ContainerStatusUnknown",
    message: "The container could not be located when the pod was terminated",
  });
});
