import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { newMessage, parseResource } from "../../lib/protocol/mod.ts";
import { EdgeStore } from "../store/mod.ts";
import { applyDeviceObject, isDeviceObjectType, pruneDeviceObjects } from "./device_objects.ts";

const quiet = createLogger({ level: "error", write: () => {} });

const message = (
  operation: "insert" | "update" | "delete",
  resource: string,
  metadata: Record<string, string>,
  spec = {},
) =>
  newMessage({
    source: "devicecontroller",
    group: "resource",
    operation,
    resource,
    content: { apiVersion: "devices.kubeedge.io/v1beta1", metadata, spec },
  });

function apply(store: EdgeStore, m: ReturnType<typeof message>) {
  const parsed = parseResource(m.route.resource);
  assert.ok(parsed.ok && parsed.value.kind === "object");
  const target = parsed.value;
  assert.ok(isDeviceObjectType(target.type));
  return applyDeviceObject(store, { ...target, type: target.type }, m);
}

Deno.test("device objects are stored across a reopen, newest version wins, deletes by uid, detail prunes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/edge.db`;
    let store = new EdgeStore(path, quiet);
    const dev = { name: "thermo", namespace: "factory", uid: "d-1" };
    const model = { name: "thermometer", namespace: "factory", uid: "m-1" };
    const ref = { deviceModelRef: { name: "thermometer" } };
    assert.equal(
      apply(store, message("insert", "factory/devicemodel/thermometer", { ...model, resourceVersion: "5" }))
        .outcome,
      "stored",
    );
    const first = apply(
      store,
      message("insert", "factory/device/thermo", { ...dev, resourceVersion: "10" }, ref),
    );
    assert.equal(first.outcome, "stored");
    assert.equal(first.change?.op, "upsert");
    assert.equal(
      apply(store, message("update", "factory/device/thermo", { ...dev, resourceVersion: "9" }, ref)).outcome,
      "stale",
    );
    assert.equal(
      apply(store, message("insert", "factory/device/thermo", { ...dev, resourceVersion: "10" }, ref))
        .outcome,
      "unchanged",
    );
    assert.equal(
      apply(store, message("insert", "factory/device/thermo", { name: "thermo" })).outcome,
      "ignored",
      "no uid",
    );
    assert.equal(
      apply(store, message("insert", "factory/device/other", { ...dev, resourceVersion: "11" })).outcome,
      "ignored",
      "name differs from the resource",
    );
    store.close();

    store = new EdgeStore(path, quiet);
    assert.equal(store.get("factory/device/thermo")?.resourceVersion, "10", "kept across a restart");
    assert.deepEqual(
      pruneDeviceObjects(store, new Set(["factory/thermo"])),
      [],
      "listed device and its model stay",
    );
    const pruned = pruneDeviceObjects(store, new Set());
    assert.deepEqual(pruned.map((c) => c.object.key), [
      "factory/device/thermo",
      "factory/devicemodel/thermometer",
    ]);
    assert.equal(store.list("device").length + store.list("devicemodel").length, 0);

    apply(store, message("insert", "factory/device/thermo", { ...dev, resourceVersion: "12" }));
    assert.equal(
      apply(store, message("delete", "factory/device/thermo", { ...dev, uid: "d-0" })).outcome,
      "absent",
      "another uid",
    );
    const gone = apply(store, message("delete", "factory/device/thermo", dev));
    assert.equal(gone.outcome, "deleted");
    assert.equal(gone.change?.object.uid, "d-1");
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
