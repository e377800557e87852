import assert from "node:assert/strict";
import type { Delivery } from "../controllers/mod.ts";
import { NodeModels, objectDelivery } from "./objects.ts";

const model = (rv: string, unit = "C") => ({
  metadata: { name: "thermometer", namespace: "factory", uid: "m-1", resourceVersion: rv },
  spec: { protocol: "virtual", properties: [{ name: "temperature", type: "INT", unit }] },
});

Deno.test("a Device goes as KubeEdge's devicecontroller sends it: group resource, <ns>/device/<name>", () => {
  const d = objectDelivery("device", "insert", {
    metadata: { name: "thermo", namespace: "factory", uid: "d-1", resourceVersion: "42" },
    spec: { nodeName: "edge-1" },
  })!;
  assert.deepEqual(d.message.route, {
    source: "devicecontroller",
    group: "resource",
    operation: "insert",
    resource: "factory/device/thermo",
  });
  assert.equal(d.message.header.resourceversion, "42");
  assert.equal(d.uid, "d-1/device");
  assert.equal(d.isDelete, undefined);
  const content = d.message.content as { apiVersion: string; kind: string; spec: unknown };
  assert.equal(content.apiVersion, "devices.kubeedge.io/v1beta1");
  assert.equal(content.kind, "Device");
  assert.deepEqual(content.spec, { nodeName: "edge-1" });
  const gone = objectDelivery("devicemodel", "delete", model("7"))!;
  assert.equal(gone.message.route.resource, "factory/devicemodel/thermometer");
  assert.equal(gone.isDelete, true);
  assert.equal(gone.uid, "m-1/devicemodel");
  assert.equal(objectDelivery("device", "insert", { metadata: { name: "x" } }), undefined);
});

Deno.test("NodeModels sends a model once per node, again when its spec changes, a delete when unneeded", () => {
  const sent: Array<{ node: string; d: Delivery }> = [];
  const models = new NodeModels((node, d) => void sent.push({ node, d }));
  const ops = () =>
    sent.splice(0).map(({ node, d }) => `${node} ${d.message.route.operation} ${d.resourceVersion}`);
  models.sync("edge-1", new Map([["factory/thermometer", model("1")]]));
  assert.deepEqual(ops(), ["edge-1 insert 1"]);
  models.sync("edge-1", new Map([["factory/thermometer", model("2")]]));
  assert.deepEqual(ops(), [], "same spec at a newer version (a status or label change) is not sent");
  models.sync("edge-1", new Map([["factory/thermometer", model("3", "K")]]));
  assert.deepEqual(ops(), ["edge-1 update 3"]);
  models.sync("edge-2", new Map([["factory/thermometer", model("3", "K")]]));
  assert.deepEqual(ops(), ["edge-2 insert 3"]);
  models.sync("edge-1", new Map());
  assert.deepEqual(ops(), ["edge-1 delete 3"]);
  models.reset("edge-2");
  models.sync("edge-2", new Map([["factory/thermometer", model("3", "K")]]));
  assert.deepEqual(ops(), ["edge-2 insert 3"], "after a reconnect everything goes again");
});
