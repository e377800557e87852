// Pod manager on a real containerd: the kubelet's NodePorts admission. A pod asking for a host port another
// pod on the node holds is refused (Failed, NodePorts) and nothing of it starts; it stays refused when the
// holder is gone and after a restart of the manager, as the kubelet never starts a pod it rejected (the
// StatefulSet controller recreates such a pod: `Should recreate evicted statefulset`). Other protocols and
// other host IPs do not conflict.
import assert from "node:assert/strict";
import { startTestRuntime } from "./containerd/mod.ts";
import { startTestManager, type TestManager, testPod, waitFor } from "./containerd/pod_helpers.ts";
import type { Pod } from "../edge/pods/mod.ts";

const PORT = 28_080;

Deno.test("a pod asking for a host port the node's pods hold is refused as NodePorts, and stays refused", async () => {
  const rt = await startTestRuntime("hostports");
  let tm: TestManager | undefined = await startTestManager(rt);
  try {
    const withPort = (name: string, hostIP: string, protocol: "TCP" | "UDP" = "TCP"): Pod =>
      testPod(name, {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: "app",
          image: rt.images.busybox,
          command: ["sleep", "3600"],
          ports: [{ containerPort: 80, hostPort: PORT, hostIP, protocol }],
        }],
      });
    const holder = withPort("holder", "127.0.0.1");
    const clash = withPort("clash", "");
    const udp = withPort("udp", "", "UDP");
    const otherIP = withPort("other-ip", "127.0.0.2");
    const uid = (p: Pod) => p.metadata.uid!;
    const phase = (m: TestManager, p: Pod) => m.manager.status(uid(p))?.phase;
    const sandboxesOf = async (p: Pod) =>
      (await tm!.cri.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid(p) } })).length;

    tm.manager.handle({ op: "add", pod: holder });
    await waitFor("holder Running", () => phase(tm!, holder) === "Running", 60_000);
    for (const p of [clash, udp, otherIP]) tm.manager.handle({ op: "add", pod: p });
    const refused = await waitFor("clash refused", () => {
      const s = tm!.manager.status(uid(clash));
      return s?.phase === "Failed" && s;
    });
    assert.equal(refused.reason, "NodePorts");
    assert.equal(
      refused.message,
      "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
    );
    await waitFor(
      "udp and other-ip Running",
      () => phase(tm!, udp) === "Running" && phase(tm!, otherIP) === "Running",
      60_000,
    );
    assert.equal(await sandboxesOf(clash), 0, "nothing of a refused pod starts");

    // The TCP holders go; the refused pod is not started when it is synced again.
    for (const p of [holder, otherIP]) tm.manager.handle({ op: "delete", pod: p });
    await waitFor(
      "holders removed",
      () => [holder, otherIP].every((p) => tm!.statuses.removed.has(uid(p))),
      30_000,
    );
    // An update of its object (its status written back by the cloud) syncs it again.
    tm.manager.handle({ op: "update", pod: clash });
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(phase(tm, clash), "Failed");
    assert.equal(await sandboxesOf(clash), 0, "still nothing of it after the holder is gone");

    // A restarted manager gets the pod with the Failed status the apiserver holds: it is not started either.
    await tm.stop();
    tm = await startTestManager(rt);
    tm.manager.handle({ op: "add", pod: { ...clash, status: { phase: "Failed", reason: "NodePorts" } } });
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(await sandboxesOf(clash), 0, "not started after a restart");
  } finally {
    await tm?.stop();
    await rt.stop();
  }
});
