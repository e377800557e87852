import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import type { DesiredObject } from "./downstream_sync.ts";
import { fullSyncDeliveries, resyncDeliveries } from "./resync.ts";

const desiredPod = (name: string, uid: string, resourceVersion: string): DesiredObject => ({
  ref: { kind: "pod", namespace: "ns", name, uid },
  object: { metadata: { namespace: "ns", name, uid, resourceVersion } } as V1Pod,
});

Deno.test("resync sends deletes first, then inserts for missing and updates for older objects only", () => {
  const desired = [
    desiredPod("same", "u1", "10"),
    desiredPod("older", "u2", "20"),
    desiredPod("missing", "u3", "30"),
  ];
  const held = [
    { uid: "u1", resourceVersion: "10", resource: "ns/pod/same" },
    { uid: "u2", resourceVersion: "9", resource: "ns/pod/older" },
    { uid: "gone", resourceVersion: "5", resource: "ns/configmap/old" },
    { uid: "dev", resourceVersion: "5", resource: "ns/device/d1" },
    { uid: "junk", resourceVersion: "5", resource: "not a resource" },
  ];
  const out = resyncDeliveries(desired, held).map((
    d,
  ) => [d.message.route.operation, d.message.route.resource, d.uid]);
  assert.deepEqual(out, [
    ["delete", "ns/configmap/old", "gone"],
    ["update", "ns/pod/older", "u2"],
    ["insert", "ns/pod/missing", "u3"],
  ]);
});

Deno.test("resourceVersions compare as integers, so 9 is older than 10", () => {
  const out = resyncDeliveries([desiredPod("p", "u", "10")], [{
    uid: "u",
    resourceVersion: "9",
    resource: "ns/pod/p",
  }]);
  assert.equal(out.length, 1);
  assert.equal(out[0]?.resourceVersion, "10");
});

Deno.test("a full sync inserts every object and sends Nodes as updates", () => {
  const node: DesiredObject = {
    ref: { kind: "node", name: "n", uid: "un" },
    object: { metadata: { name: "n", uid: "un", resourceVersion: "3" } },
  };
  const out = fullSyncDeliveries([node, desiredPod("p", "u", "4")]);
  assert.deepEqual(out.map((d) => [d.message.route.operation, d.message.route.resource]), [
    ["update", "null/node/n"],
    ["insert", "ns/pod/p"],
  ]);
});
