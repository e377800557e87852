import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import type { Message } from "../../lib/protocol/mod.ts";
import { type EventRecorder, podEvents } from "../pods/events.ts";
import {
  EVENT_HOLD_LIMIT,
  EVENT_REPEAT_WINDOW_MS,
  PodEventUplink,
  SIMILAR_EVENT_LIMIT,
} from "./pod_events.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const pod = { uid: "uid-1", name: "web", namespace: "apps", resourceVersion: "42" };
const app = { name: "app", type: "regular" as const };

/** An uplink that keeps what it is given; `full` makes send throw as the hub's full outbox does. */
function uplink(connected = true) {
  const sent: Message[] = [];
  const link = {
    connected,
    full: false,
    send(message: Message) {
      if (link.full) throw new RangeError("Cannot queue message: the limit");
      sent.push(message);
    },
  };
  return { link, sent };
}

interface EventJson {
  metadata: { name: string; namespace: string };
  involvedObject: Record<string, unknown>;
  message: string;
  [field: string]: unknown;
}
const contentOf = (m: Message) => m.content as EventJson;

Deno.test("pod events: the v1 Event the kubelet's recorder makes, sent as KubeEdge's edged sends it", () => {
  const { link, sent } = uplink();
  const now = Date.parse("2025-03-04T05:06:07.891Z");
  const events = new PodEventUplink(link, "edge-1", quiet, () => now);
  events.record(pod, app, "Normal", "Started", "Started container app");
  events.record(pod, { name: "setup", type: "init" }, "Normal", "Created", "Created container: setup");
  events.record(pod, undefined, "Warning", "FailedMount", "Cannot mount configMap cfg: not found");
  assert.equal(sent.length, 3);

  const [started, init, mount] = sent as [Message, Message, Message];
  assert.deepEqual(started.route, {
    source: "edged",
    group: "meta",
    operation: "insert",
    resource: `apps/event/${contentOf(started).metadata.name}`,
  });
  const event = contentOf(started);
  assert.match(event.metadata.name, /^web\.[0-9a-f]+$/);
  // The suffix is the time in nanoseconds, in hex.
  assert.equal(BigInt(`0x${event.metadata.name.slice(4)}`) / 1_000_000n, BigInt(now));
  assert.deepEqual(event, {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: event.metadata.name, namespace: "apps" },
    involvedObject: {
      kind: "Pod",
      namespace: "apps",
      name: "web",
      uid: "uid-1",
      apiVersion: "v1",
      resourceVersion: "42",
      fieldPath: "spec.containers{app}",
    },
    reason: "Started",
    message: "Started container app",
    source: { component: "kubelet", host: "edge-1" },
    firstTimestamp: "2025-03-04T05:06:07Z",
    lastTimestamp: "2025-03-04T05:06:07Z",
    count: 1,
    type: "Normal",
    reportingComponent: "kubelet",
    reportingInstance: "edge-1",
  });
  assert.equal(contentOf(init).involvedObject.fieldPath, "spec.initContainers{setup}");
  assert.equal(contentOf(mount).involvedObject.fieldPath, undefined, "about the pod itself");
  assert.equal(contentOf(mount).type, "Warning");
  const names = sent.map((m) => contentOf(m).metadata.name);
  assert.equal(new Set(names).size, 3, "unique names within one clock tick");
  assert.deepEqual(names, [...names].sort(), "and in order");
});

Deno.test("pod events: a repeat within 5 minutes is not sent again; a crash loop of new messages is capped", () => {
  const { link, sent } = uplink();
  let now = 1_000_000;
  const events = new PodEventUplink(link, "edge-1", quiet, () => now);
  const backOff = "Back-off restarting failed container app in pod web_apps(uid-1)";
  for (let i = 0; i < 20; i++) {
    events.record(pod, app, "Warning", "BackOff", backOff);
    now += 10_000;
  }
  assert.equal(sent.length, 1, "20 back-offs in 200 s: one event");
  events.record({ ...pod, uid: "uid-2" }, app, "Warning", "BackOff", backOff);
  events.record(pod, app, "Normal", "Started", "Started container app");
  assert.equal(sent.length, 3, "another pod, another reason: sent");

  now += EVENT_REPEAT_WINDOW_MS;
  events.record(pod, app, "Warning", "BackOff", backOff);
  assert.equal(sent.length, 4, "5 minutes on: sent again");

  // Messages that differ each time (a probe's output) count as one reason about one container.
  sent.length = 0;
  for (let i = 0; i < 3 * SIMILAR_EVENT_LIMIT; i++) {
    events.record(pod, app, "Warning", "Unhealthy", `Liveness probe failed: attempt ${i}`);
  }
  assert.equal(sent.length, SIMILAR_EVENT_LIMIT);
  events.record(pod, { name: "sidecar", type: "regular" }, "Warning", "Unhealthy", "Liveness probe failed");
  assert.equal(sent.length, SIMILAR_EVENT_LIMIT + 1, "another container is not capped");
});

Deno.test("pod events: what is remembered about a pod goes when it is removed or its window ends", () => {
  const { link, sent } = uplink();
  let now = 1_000_000;
  const events = new PodEventUplink(link, "edge-1", quiet, () => now);
  // Pods created and deleted one after the other, as a cycling workload does: each leaves nothing behind.
  for (let i = 0; i < 50; i++) {
    const cycled = { ...pod, uid: `uid-cycle-${i}`, name: `cycle-${i}` };
    events.record(cycled, app, "Normal", "Started", "Started container app");
    events.record(cycled, app, "Normal", "Killing", "Stopping container app");
    events.forget(cycled.uid);
    now += 2_000;
  }
  assert.equal(events.remembered, 0, "no key of a removed pod is kept");
  assert.equal(sent.length, 100);

  events.record(pod, app, "Normal", "Started", "Started container app");
  events.forget("uid-other");
  assert.equal(events.remembered, 2, "another pod's removal leaves this one's keys");
  events.forget(pod.uid);
  events.record(pod, app, "Normal", "Started", "Started container app");
  assert.equal(sent.length, 102, "after a forget the same event is new again");

  // Past the window, keys of pods still there go on the next record, not only once 4,096 are held.
  for (let i = 0; i < 20; i++) events.record({ ...pod, uid: `uid-${i}` }, app, "Normal", "Pulled", "x");
  assert.equal(events.remembered, 42);
  now += EVENT_REPEAT_WINDOW_MS;
  events.record(pod, app, "Normal", "Pulled", "y");
  assert.equal(events.remembered, 2);
});

Deno.test("pod events: offline, the newest 100 wait and the oldest are dropped and counted", () => {
  const { link, sent } = uplink(false);
  const events = new PodEventUplink(link, "edge-1", quiet);
  const total = EVENT_HOLD_LIMIT + 50;
  for (let i = 0; i < total; i++) {
    events.record({ ...pod, uid: `uid-${i}` }, app, "Normal", "Pulling", `Pulling image "img"`);
  }
  assert.equal(sent.length, 0);
  assert.equal(events.dropped, 50);

  link.connected = true;
  link.full = true;
  events.flush();
  assert.equal(sent.length, 0, "a full hub outbox: held, nothing thrown");
  link.full = false;
  events.flush();
  assert.equal(sent.length, EVENT_HOLD_LIMIT);
  assert.equal(contentOf(sent[0]!).involvedObject.uid, "uid-50", "the oldest went");
  assert.equal(contentOf(sent.at(-1)!).involvedObject.uid, `uid-${total - 1}`);
  events.flush();
  assert.equal(sent.length, EVENT_HOLD_LIMIT, "each sent once");
});

Deno.test("pod events: a long runtime error is cut to the events API's 1024 characters", () => {
  const { link, sent } = uplink();
  const events = new PodEventUplink(link, "edge-1", quiet);
  events.record(pod, app, "Warning", "Failed", `Error: ${"x".repeat(5000)}`);
  assert.equal(contentOf(sent[0]!).message.length, 1024);
  assert.ok(contentOf(sent[0]!).message.endsWith("..."));
});

Deno.test("pod events: a recorder that throws never reaches the pod manager", () => {
  const broken: EventRecorder = {
    record: () => {
      throw new Error("boom");
    },
  };
  podEvents(broken, pod)("Normal", "Started", "Started container app", app);
  podEvents(undefined, pod)("Normal", "Started", "Started container app");
});
