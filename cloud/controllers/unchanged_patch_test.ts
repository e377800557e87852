import assert from "node:assert/strict";
import { statusPatchChangesNothing } from "./unchanged_patch.ts";

const running = {
  phase: "Running",
  podIP: "10.88.0.5",
  conditions: [
    { type: "Ready", status: "True", lastTransitionTime: "2026-12-06T06:00:00Z" },
    { type: "PodScheduled", status: "True", lastTransitionTime: "2026-12-06T05:59:58Z" },
  ],
  containerStatuses: [{
    name: "c",
    ready: true,
    restartCount: 0,
    state: { running: { startedAt: "2026-12-06T06:00:00Z" } },
  }],
};
const cached = {
  metadata: { uid: "u1", resourceVersion: "41" },
  status: { ...running, qosClass: "BestEffort" },
};

Deno.test("a pod status patch equal to the cached status changes nothing, whatever keys the patch leaves out", () => {
  assert.equal(statusPatchChangesNothing({ metadata: { uid: "u1" }, status: running }, cached), true);
  assert.equal(statusPatchChangesNothing({ status: { phase: "Running" } }, cached), true);
  assert.equal(
    statusPatchChangesNothing({ status: { message: null } }, cached),
    true,
    "null deletes an absent key",
  );
});

Deno.test("a pod status patch that differs anywhere, or whose precondition fails, is written", () => {
  const patch = (status: unknown, metadata: Record<string, unknown> = { uid: "u1" }) =>
    statusPatchChangesNothing({ metadata, status }, cached);
  assert.equal(patch({ ...running, phase: "Succeeded" }), false);
  assert.equal(patch({ qosClass: null }), false, "null deletes a present key");
  assert.equal(patch({ ...running, podIP: "10.88.0.6" }), false);
  const notReady = [{ ...running.conditions[0], status: "False" }];
  assert.equal(patch({ ...running, conditions: notReady }), false, "a condition merged by type changes");
  assert.equal(patch({ conditions: [{ type: "Initialized", status: "True" }] }), false, "a new condition");
  assert.equal(patch({ conditions: [{ status: "True" }] }), false, "an element without its merge key");
  const restarted = [{ ...running.containerStatuses[0], restartCount: 1 }];
  assert.equal(patch({ ...running, containerStatuses: restarted }), false);
  assert.equal(patch({ ...running, hostIP: "192.0.2.2" }), false, "a new key");
  assert.equal(patch(running, { uid: "other" }), false, "another pod's uid: the apiserver refuses it");
  assert.equal(patch(running, { uid: "u1", resourceVersion: "40" }), false, "a stale resourceVersion");
  assert.equal(statusPatchChangesNothing({ status: running }, { metadata: {} }), false, "no cached status");
});
