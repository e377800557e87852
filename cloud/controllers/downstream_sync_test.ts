// DownstreamSync with the index and a recorder, no apiserver: which node gets which object on each event.
import assert from "node:assert/strict";
import type { V1ConfigMap, V1Node, V1Pod, V1Secret } from "@kubernetes/client-node";
import { createLogger } from "../../lib/log.ts";
import { DownstreamSync } from "./downstream_sync.ts";
import { EdgeIndex } from "./edge_index.ts";
import { Counter } from "../../lib/metrics.ts";
import { OwnStatusWrites } from "./own_writes.ts";
import type { Delivery } from "./types.ts";

const quiet = createLogger({ level: "error", write: () => {} });
let rv = 100;

function setup() {
  const writes = new OwnStatusWrites();
  const skipped = new Counter("echoes", "test");
  const sent: { node: string; op: string; resource: string; item: Delivery }[] = [];
  const objects = new Map<string, V1ConfigMap | V1Secret>();
  const sync = new DownstreamSync(
    new EdgeIndex(),
    {
      send: (node, item) =>
        sent.push({ node, op: item.message.route.operation, resource: item.message.route.resource, item }),
    },
    { get: (type, ns, name) => objects.get(`${type}/${ns}/${name}`) },
    quiet,
    { writes, skipped },
  );
  const summary = () => sent.map((s) => `${s.node} ${s.op} ${s.resource}`);
  return { sent, objects, sync, summary, writes, skipped };
}

const node = (name: string, edge = true): V1Node => ({
  metadata: {
    name,
    uid: `uid-${name}`,
    resourceVersion: String(++rv),
    labels: edge ? { "node-role.kubernetes.io/edge": "" } : {},
  },
});
const pod = (name: string, nodeName: string | undefined, cm?: string, uid = `uid-${name}`): V1Pod => ({
  metadata: { namespace: "ns", name, uid, resourceVersion: String(++rv) },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    containers: [{ name: "c" }],
    ...(cm ? { volumes: [{ name: "v", configMap: { name: cm } }] } : {}),
  },
});
const cm = (name: string): V1ConfigMap => ({
  metadata: { namespace: "ns", name, uid: `uid-${name}`, resourceVersion: String(++rv) },
});

Deno.test("a ConfigMap shared by two pods on a node is deleted there only with the last of them", () => {
  const { sync, objects, summary, sent } = setup();
  objects.set("configmap/ns/shared", cm("shared"));
  sync.onNode("add", node("a"));
  sync.onPod("add", pod("p1", "a", "shared"));
  sync.onPod("add", pod("p2", "a", "shared"));
  assert.equal(summary().filter((s) => s === "a insert ns/configmap/shared").length, 1, "sent once");
  sent.length = 0;
  sync.onPod("delete", pod("p1", "a", "shared"));
  assert.deepEqual(summary(), ["a delete ns/pod/p1"]);
  sync.onPod("delete", pod("p2", "a", "shared"));
  assert.deepEqual(summary(), ["a delete ns/pod/p1", "a delete ns/pod/p2", "a delete ns/configmap/shared"]);
});

Deno.test("pods bound before their node became an edge node are sent when it does, and deleted when it stops", () => {
  const { sync, objects, summary, sent } = setup();
  objects.set("configmap/ns/cfg", cm("cfg"));
  sync.onPod("add", pod("early", "late-node", "cfg"));
  assert.deepEqual(summary(), [], "not an edge node yet");
  sync.onNode("add", node("late-node"));
  assert.deepEqual(summary(), [
    "late-node update null/node/late-node",
    "late-node insert ns/configmap/cfg",
    "late-node insert ns/pod/early",
  ]);
  sent.length = 0;
  sync.onNode("update", node("late-node", false));
  assert.deepEqual(summary(), [
    "late-node delete ns/pod/early",
    "late-node delete ns/configmap/cfg",
    "late-node delete null/node/late-node",
  ]);
});

Deno.test("a pod recreated under the same name deletes the old uid before the new one is inserted", () => {
  const { sync, sent } = setup();
  sync.onNode("add", node("a"));
  sync.onPod("add", pod("p", "a", undefined, "old"));
  sent.length = 0;
  sync.onPod("update", pod("p", "a", undefined, "new"));
  assert.deepEqual(sent.map((s) => [s.op, s.item.uid]), [["delete", "old"], ["insert", "new"]]);
});

Deno.test("a ConfigMap change goes only to nodes whose pods refer to it", () => {
  const { sync, objects, summary, sent } = setup();
  objects.set("configmap/ns/cfg", cm("cfg"));
  sync.onNode("add", node("a"));
  sync.onNode("add", node("b"));
  sync.onPod("add", pod("p", "a", "cfg"));
  sync.onPod("add", pod("q", "b"));
  sent.length = 0;
  const changed = cm("cfg");
  objects.set("configmap/ns/cfg", changed);
  sync.onReferenced("configmap", "update", changed);
  sync.onReferenced("configmap", "update", cm("other"));
  assert.deepEqual(summary(), ["a update ns/configmap/cfg"]);
  assert.equal(sent[0]?.item.resourceVersion, changed.metadata?.resourceVersion);
});

Deno.test("a pod update that drops a reference deletes that object from the node", () => {
  const { sync, objects, summary, sent } = setup();
  objects.set("configmap/ns/cfg", cm("cfg"));
  sync.onNode("add", node("a"));
  sync.onPod("add", pod("p", "a", "cfg"));
  sent.length = 0;
  sync.onPod("update", pod("p", "a"));
  assert.deepEqual(summary(), ["a update ns/pod/p", "a delete ns/configmap/cfg"]);
});

Deno.test("the watch event of an edge's own pod status write is not sent back; others' changes are", () => {
  const { sync, summary, sent, writes, skipped } = setup();
  sync.onNode("add", node("a"));
  const p = pod("p1", "a");
  sync.onPod("add", p);
  sent.length = 0;
  const running = (from: V1Pod, phase: string): V1Pod => ({
    ...from,
    metadata: { ...from.metadata, resourceVersion: String(++rv) },
    status: { phase },
  });
  // The edge's patch produced this version: its event is the echo.
  const own = running(p, "Running");
  writes.record("ns/p1", own.metadata?.resourceVersion);
  sync.onPod("update", own);
  assert.deepEqual(summary(), []);
  assert.equal(skipped.get({ kind: "pod_status" }), 1);
  assert.equal(writes.size, 0, "the record is used once");
  // Someone else's status change (the node lifecycle controller) still goes down.
  sync.onPod("update", running(own, "Unknown"));
  assert.deepEqual(summary(), ["a update ns/pod/p1"]);
  sent.length = 0;
  // A version the edge wrote that also carries a spec or metadata change (a label) goes down too.
  const relabeled = running(own, "Running");
  relabeled.metadata = { ...relabeled.metadata, labels: { tier: "web" } };
  writes.record("ns/p1", relabeled.metadata.resourceVersion);
  sync.onPod("update", relabeled);
  assert.deepEqual(summary(), ["a update ns/pod/p1"]);
  writes.record("ns/p1", "999999");
  sync.onPod("delete", relabeled);
  assert.equal(writes.size, 0, "a deleted pod's record goes with it");
});

Deno.test("the watch event of an edge's own node status write is not sent back", () => {
  const { sync, summary, sent, writes, skipped } = setup();
  const n = node("a");
  sync.onNode("add", n);
  sent.length = 0;
  const heartbeat = {
    ...n,
    metadata: { ...n.metadata, resourceVersion: String(++rv) },
    status: { phase: "x" },
  };
  writes.record("node/a", heartbeat.metadata.resourceVersion);
  sync.onNode("update", heartbeat);
  assert.deepEqual(summary(), []);
  assert.equal(skipped.get({ kind: "node_status" }), 1);
  const relabeled = { ...heartbeat, metadata: { ...heartbeat.metadata, resourceVersion: String(++rv) } };
  relabeled.metadata.labels = { ...relabeled.metadata.labels, zone: "b" };
  writes.record("node/a", relabeled.metadata.resourceVersion);
  sync.onNode("update", relabeled);
  assert.deepEqual(
    summary(),
    ["a update null/node/a"],
    "a label change goes down even with a recorded version",
  );
});
