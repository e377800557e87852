import assert from "node:assert/strict";
import { type BusAuthOptions, checkCredentials, identify, maySubscribe, mayUse } from "./acl.ts";

const auth: BusAuthOptions = {
  users: { "edgecore": "s3cret", "default/dev-a": "pa", "app": "pp" },
  admins: ["edgecore"],
  acl: true,
};
const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("credentials must match a configured user, and anyone connects when none are configured", () => {
  assert.ok(checkCredentials(auth, "edgecore", enc("s3cret")));
  assert.ok(!checkCredentials(auth, "edgecore", enc("s3cre")));
  assert.ok(!checkCredentials(auth, "nobody", enc("s3cret")));
  assert.ok(!checkCredentials(auth, undefined, undefined));
  assert.ok(!checkCredentials(auth, "constructor", undefined), "inherited names are not users");
  assert.ok(checkCredentials({ ...auth, users: {} }, undefined, undefined));
});

Deno.test("a device user may publish and read only its own device topics", () => {
  const dev = identify(auth, "default/dev-a");
  assert.deepEqual(dev, { kind: "device", id: "default/dev-a" });
  assert.ok(mayUse(dev, "$hw/events/device/default/dev-a/twin/update"));
  assert.ok(!mayUse(dev, "$hw/events/device/default/dev-b/twin/update"));
  assert.ok(!mayUse(dev, "$hw/events/node/n1/membership/get"));
  assert.ok(!mayUse(dev, "app/user/x"));
  assert.ok(maySubscribe(dev, "$hw/events/device/default/dev-a/twin/update/delta"));
  assert.ok(maySubscribe(dev, "$hw/events/device/default/dev-a/#"));
  assert.ok(!maySubscribe(dev, "$hw/events/device/default/+/twin/update/delta"));
  assert.ok(!maySubscribe(dev, "#"));
});

Deno.test("admins may use every topic and other users every topic except device and node ones", () => {
  assert.ok(mayUse(identify(auth, "edgecore"), "$hw/events/device/default/dev-b/twin/update"));
  const app = identify(auth, "app");
  assert.equal(app.kind, "other");
  assert.ok(mayUse(app, "app/user/x"));
  assert.ok(!mayUse(app, "$hw/events/device/default/dev-b/twin/update"));
  assert.ok(maySubscribe(app, "#"));
});

Deno.test("with the ACL off every client is an admin", () => {
  assert.equal(identify({ ...auth, acl: false }, "default/dev-a").kind, "admin");
});
