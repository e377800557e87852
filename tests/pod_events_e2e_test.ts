// Issue 14 end to end: `kubectl describe pod` says why a pod is stuck. The edge records the kubelet's events
// about its pods (Pulled, Created, Started; Failed and BackOff for an image it cannot pull; Unhealthy for a
// failing probe; FailedMount for a missing ConfigMap; Killing on delete; BackOff for a crash loop, without
// flooding) and they reach the apiserver through cloudcore.
import assert from "node:assert/strict";
import { waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

interface EventJson {
  type: string;
  reason: string;
  message: string;
  count: number;
  source: { component?: string; host?: string };
  involvedObject: { kind: string; name: string; uid: string; fieldPath?: string };
}

Deno.test("pod events from the edge: kubectl describe pod says why", async (t) => {
  await using env = await startPodEdge("events");
  const { kubectl, rt } = env;
  const pod = (name: string, image: string, command: string, more = "") => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: "${image}"
    command: ["sh", "-c", "${command}"]
${more}`;
  const events = async (name: string): Promise<EventJson[]> =>
    JSON.parse(
      await kubectl(["get", "events", "--field-selector", `involvedObject.name=${name}`, "-o", "json"]),
    ).items;
  const eventsWith = (name: string, want: Array<[string, string]>, timeoutMs = 60_000) =>
    waitFor(
      `${name}: ${want.map(([reason, text]) => `${reason} "${text}"`).join(", ")}`,
      async () => {
        const list = await events(name);
        const has = ([reason, text]: [string, string]) =>
          list.some((e) => e.reason === reason && e.message.includes(text));
        return want.every(has) && list;
      },
      timeoutMs,
      500,
    );

  // All at once: the crash loop's minute runs while the others are checked.
  const neverReady = "    readinessProbe: {exec: {command: [cat, /nonexistent]}, periodSeconds: 2}\n";
  const readyLater = "    readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}\n";
  const absentConfig = "    volumeMounts: [{name: config, mountPath: /config}]\n" +
    "  volumes: [{name: config, configMap: {name: absent}}]\n";
  await kubectl(
    ["apply", "-f", "-"],
    [
      pod("good", rt.images.busybox, "exec sleep 3600", neverReady),
      pod("missing", rt.images.missing, "exec sleep 3600"),
      pod("crash", rt.images.busybox, "exit 1"),
      pod("unmounted", rt.images.busybox, "exec sleep 3600", absentConfig),
      pod("later", rt.images.busybox, "sleep 4; touch /tmp/ready; exec sleep 3600", readyLater),
      pod("gated", rt.images.busybox, "exec sleep 3600").replace(
        "  containers:",
        "  readinessGates: [{conditionType: example.com/lb}]\n  containers:",
      ),
    ].join("---\n"),
  );
  const crashCreated = Date.now();
  const uid = (name: string) => kubectl(["get", "pod", name, "-o", "jsonpath={.metadata.uid}"]);

  await t.step(
    "a pod that runs: Pulled, Created, Started about its container, from the kubelet on edge-1",
    async () => {
      const list = await eventsWith("good", [
        ["Pulled", rt.images.busybox],
        ["Created", "Created container: app"],
        ["Started", "Started container app"],
      ]);
      const started = list.find((e) => e.reason === "Started")!;
      assert.equal(started.type, "Normal");
      assert.deepEqual(started.source, { component: "kubelet", host: "edge-1" });
      assert.equal(started.involvedObject.kind, "Pod");
      assert.equal(started.involvedObject.uid, await uid("good"));
      assert.equal(started.involvedObject.fieldPath, "spec.containers{app}");
    },
  );

  await t.step(
    "a pod whose image is missing: Failed and BackOff, shown by kubectl describe pod",
    async () => {
      const list = await eventsWith("missing", [
        ["Failed", `Failed to pull image "${rt.images.missing}"`],
        ["Failed", "Error: ErrImagePull"],
        ["BackOff", `Back-off pulling image "${rt.images.missing}"`],
        ["Failed", "Error: ImagePullBackOff"],
      ]);
      assert.ok(list.filter((e) => e.reason === "Failed").every((e) => e.type === "Warning"));
      const described = await kubectl(["describe", "pod", "missing"]);
      assert.match(described, /Warning\s+Failed\s+.*Failed to pull image/);
      assert.match(described, /Back-off pulling image/);
    },
  );

  await t.step("a failing readiness probe: Unhealthy", async () => {
    const list = await eventsWith("good", [
      ["Unhealthy", "Readiness probe failed: cat: can't open '/nonexistent'"],
    ]);
    assert.ok(list.filter((e) => e.reason === "Unhealthy").every((e) => e.type === "Warning"));
  });

  await t.step(
    "a pod Ready after a while: its Ready condition keeps no reason or message of before",
    async () => {
      type Condition = { type: string; status: string; reason?: string; message?: string };
      const ready = async () =>
        (JSON.parse(await kubectl(["get", "pod", "later", "-o", "json"])).status
          ?.conditions as Condition[] ?? [])
          .find((c) => c.type === "Ready");
      const before = await waitFor(
        "later not Ready yet",
        async () => {
          const c = await ready();
          return c?.status === "False" && !!c.message && c;
        },
        30_000,
        250,
      );
      assert.equal(before.message, "containers with unready status: [app]");
      const after = await waitFor(
        "later Ready",
        async () => {
          const c = await ready();
          return c?.status === "True" && c;
        },
        30_000,
        250,
      );
      assert.deepEqual([after.reason, after.message], [undefined, undefined]);
    },
  );

  await t.step(
    "a readiness gate holds Ready back until its condition, set by someone else, is True",
    async () => {
      type Condition = { type: string; status: string; reason?: string; message?: string };
      const ready = async () =>
        (JSON.parse(await kubectl(["get", "pod", "gated", "-o", "json"])).status
          ?.conditions as Condition[] ?? [])
          .find((c) => c.type === "Ready");
      const held = await waitFor(
        "gated held back",
        async () => {
          const c = await ready();
          return c?.reason === "ReadinessGatesNotReady" && c;
        },
        30_000,
        250,
      );
      assert.equal(held.status, "False");
      assert.equal(
        held.message,
        'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
      );
      await kubectl([
        "patch",
        "pod",
        "gated",
        "--subresource=status",
        "-p",
        '{"status":{"conditions":[{"type":"example.com/lb","status":"True"}]}}',
      ]);
      await waitFor("gated Ready", async () => (await ready())?.status === "True", 30_000, 250);
      const conditions = JSON.parse(await kubectl(["get", "pod", "gated", "-o", "json"])).status.conditions;
      assert.ok(
        conditions.some((c: Condition) => c.type === "example.com/lb" && c.status === "True"),
        "kept",
      );
    },
  );

  await t.step("a ConfigMap volume whose ConfigMap does not exist: FailedMount", async () => {
    await eventsWith("unmounted", [["FailedMount", 'configmap "absent" not found']]);
    assert.match(await kubectl(["describe", "pod", "unmounted"]), /Warning\s+FailedMount/);
  });

  await t.step("deleting a running pod: Killing", async () => {
    await kubectl(["delete", "pod", "good", "--wait=false"]);
    await eventsWith("good", [["Killing", "Stopping container app"]], 30_000);
  });

  await t.step("a crash loop: BackOff, and no more than a handful of events in a minute", async () => {
    await eventsWith("crash", [
      ["BackOff", "Back-off restarting failed container app in pod crash_default("],
    ]);
    await new Promise((r) => setTimeout(r, Math.max(0, crashCreated + 60_000 - Date.now())));
    const list = await events("crash");
    const restarts = Number(
      await kubectl(["get", "pod", "crash", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"]),
    );
    assert.ok(restarts >= 2, `the container restarted (${restarts})`);
    const summary = list.map((e) => `${e.reason} x${e.count}: ${e.message}`).join("\n");
    assert.ok(list.length <= 8, `events about the crash loop in 60 s:\n${summary}`);
    assert.ok(list.every((e) => e.count === 1), summary);
  });
});
