import assert from "node:assert/strict";
import { newMessage } from "../../lib/protocol/mod.ts";
import { isDeviceMessage } from "./edge_reports.ts";
import { desiredFingerprint, membershipFingerprint, statusFromTwinReport, wireDevice } from "./wire.ts";

Deno.test("a Device becomes a wire device with the model's types lowercased and its desired values expected", () => {
  const device = wireDevice(
    {
      metadata: { name: "thermo", namespace: "plant" },
      spec: { properties: [{ name: "temperature", desired: { value: "20" } }, { name: "unit" }] },
    },
    { spec: { properties: [{ name: "temperature", type: "INT" }] } },
    7,
  );
  assert.equal(device.id, "plant/thermo");
  assert.deepEqual(device.twin.temperature, {
    optional: true,
    metadata: { type: "int" },
    expected: { value: "20", metadata: { timestamp: 7 } },
  });
  assert.deepEqual(device.twin.unit, { optional: true, metadata: { type: "string" } });
});

Deno.test("a desired change changes the desired fingerprint only, a type change the membership one", () => {
  const at = (value: string, type: string) =>
    wireDevice(
      { metadata: { name: "t" }, spec: { properties: [{ name: "p", desired: { value } }] } },
      { spec: { properties: [{ name: "p", type }] } },
      Date.now(),
    );
  assert.equal(membershipFingerprint(at("1", "INT")), membershipFingerprint(at("2", "INT")));
  assert.notEqual(desiredFingerprint(at("1", "INT")), desiredFingerprint(at("2", "INT")));
  assert.notEqual(membershipFingerprint(at("1", "INT")), membershipFingerprint(at("1", "STRING")));
});

Deno.test("a twin report sets reported with a string timestamp and type, and observedDesired from expected", () => {
  const update = statusFromTwinReport({
    timestamp: 5,
    twin: {
      t: {
        actual: { value: "21", metadata: { timestamp: 9 } },
        expected: { value: "25" },
        metadata: { type: "int" },
      },
    },
  }, 1);
  assert.deepEqual(update.twins.get("t"), {
    reported: { value: "21", metadata: { timestamp: "9", type: "int" } },
    observedDesired: { value: "25", metadata: { timestamp: "5" } },
  });
});

Deno.test("isDeviceMessage takes twin, user and device resources, and leaves Kubernetes objects alone", () => {
  const m = (group: "resource" | "twin" | "user", resource: string) =>
    newMessage({ source: "edge", group, operation: "update", resource, content: null });
  assert.equal(isDeviceMessage(m("resource", "device/default/t/twin/edge_updated")), true);
  assert.equal(isDeviceMessage(m("resource", "device/default/t/state/update")), true);
  assert.equal(isDeviceMessage(m("user", "SYS/dis/upload_records")), true);
  assert.equal(isDeviceMessage(m("twin", "membership")), true);
  assert.equal(isDeviceMessage(m("resource", "default/podpatch/nginx")), false);
  assert.equal(isDeviceMessage(m("resource", "null/objectsync/edge-1")), false);
});
