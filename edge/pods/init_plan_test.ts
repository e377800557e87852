import assert from "node:assert/strict";
import { planInitContainers } from "./init_plan.ts";
import { type ContainerSpec, parsePod, type PodSpec } from "./pod_schema.ts";
import type { RuntimeContainer, RuntimePod } from "./runtime_state.ts";

const NS = 1_780_000_000_000 * 1e6;
let created = 0;

function container(
  name: string,
  type: "init" | "regular",
  state: "running" | number,
  sandboxId = "sb",
): RuntimeContainer {
  created++;
  return {
    id: `${type}-${name}-${created}`,
    sandboxId,
    name,
    type,
    hash: "h",
    restartCount: 0,
    attempt: 0,
    state: state === "running" ? "CONTAINER_RUNNING" : "CONTAINER_EXITED",
    createdAt: NS + created,
    startedAt: NS,
    finishedAt: state === "running" ? 0 : NS,
    exitCode: state === "running" ? 0 : state,
    reason: "",
    message: "",
    image: "busybox",
    imageRef: "busybox@sha256:0",
    annotations: {},
  };
}

// Two sidecars around a regular init container: sidecar-a, setup, sidecar-b; then the app.
function spec(restartPolicy: "Always" | "Never" = "Always", startupProbe = false): PodSpec {
  const sidecar = (name: string) => ({
    name,
    image: "busybox",
    restartPolicy: "Always",
    ...(startupProbe ? { startupProbe: { exec: { command: ["true"] } } } : {}),
  });
  return parsePod({
    metadata: { name: "p", uid: "u" },
    spec: {
      restartPolicy,
      initContainers: [sidecar("sidecar-a"), { name: "setup", image: "busybox" }, sidecar("sidecar-b")],
      containers: [{ name: "app", image: "busybox" }],
    },
  }).spec;
}

function plan(podSpec: PodSpec, containers: RuntimeContainer[], started = (_: ContainerSpec) => true) {
  const runtime: RuntimePod = {
    uid: "u",
    name: "p",
    namespace: "default",
    sandboxes: [{ id: "sb", ready: true, attempt: 0, createdAt: NS, ip: "", labels: {}, annotations: {} }],
    containers: containers.toSorted((a, b) => b.createdAt - a.createdAt),
  };
  return planInitContainers(podSpec, runtime, "sb", (_, s) => started(s));
}

Deno.test("nothing ran yet: the first init container starts, and only that one", () => {
  assert.deepEqual(plan(spec(), []), { start: [0], initialized: false, failed: false });
});

Deno.test("a sidecar that runs and started lets the next init container start, without exiting", () => {
  const p = plan(spec(), [container("sidecar-a", "init", "running")]);
  assert.deepEqual(p, { start: [1], initialized: false, failed: false });
});

Deno.test("a sidecar whose startup probe has not passed holds the next init container back", () => {
  const p = plan(spec("Always", true), [container("sidecar-a", "init", "running")], () => false);
  assert.deepEqual(p, { start: [], initialized: false, failed: false });
});

Deno.test("a regular init container after a sidecar must exit 0 before the next starts", () => {
  const running = plan(spec(), [
    container("sidecar-a", "init", "running"),
    container("setup", "init", "running"),
  ]);
  assert.deepEqual(running.start, []);
  const done = plan(spec(), [container("sidecar-a", "init", "running"), container("setup", "init", 0)]);
  assert.deepEqual(done.start, [2]);
});

Deno.test("a sidecar that exited during initialization is restarted; the init container after it keeps running", () => {
  const p = plan(spec(), [container("sidecar-a", "init", 137), container("setup", "init", "running")]);
  assert.deepEqual(p, { start: [0], initialized: false, failed: false });
});

Deno.test("the last init container a started sidecar: initialized, the regular containers may run", () => {
  const p = plan(spec(), [
    container("sidecar-a", "init", "running"),
    container("setup", "init", 0),
    container("sidecar-b", "init", "running"),
  ]);
  assert.deepEqual(p, { start: [], initialized: true, failed: false });
});

Deno.test("after initialization an exited sidecar restarts (even under restartPolicy Never), completed init containers do not", () => {
  const p = plan(spec("Never"), [
    container("sidecar-a", "init", 1),
    container("setup", "init", 0),
    container("sidecar-b", "init", "running"),
    container("app", "regular", "running"),
  ]);
  assert.deepEqual(p, { start: [0], initialized: true, failed: false });
});

Deno.test("after initialization a sidecar whose container is gone starts again; a removed init container does not", () => {
  const p = plan(spec(), [container("sidecar-b", "init", "running"), container("app", "regular", "running")]);
  assert.deepEqual(p, { start: [0], initialized: true, failed: false });
});

Deno.test("a failed regular init container: restarted under Always, the pod failed under Never", () => {
  const ran = [container("sidecar-a", "init", "running"), container("setup", "init", 2)];
  assert.deepEqual(plan(spec("Always"), ran), { start: [1], initialized: false, failed: false });
  assert.deepEqual(plan(spec("Never"), ran), { start: [], initialized: false, failed: true });
});

Deno.test("containers of an older sandbox do not count: a new sandbox initializes from the start", () => {
  const old = [
    container("sidecar-a", "init", 137, "old"),
    container("setup", "init", 0, "old"),
    container("sidecar-b", "init", 137, "old"),
    container("app", "regular", 137, "old"),
  ];
  assert.deepEqual(plan(spec(), old), { start: [0], initialized: false, failed: false });
});
