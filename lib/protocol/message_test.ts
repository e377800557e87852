import assert from "node:assert/strict";
import { decode, encode } from "./codec.ts";
import { ACK_CONTENT, ackOf, errorTo, keepaliveMessage, newMessage, responseTo } from "./message.ts";
import type { Message } from "./types.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const request: Message = {
  header: { msg_id: "req-1", timestamp: 1, resourceversion: "99" },
  route: { source: "edgecontroller", group: "resource", operation: "insert", resource: "default/pod/nginx" },
  content: { kind: "Pod" },
};

Deno.test("newMessage sets a fresh UUID, the current time and the route", () => {
  const before = Date.now();
  const message = newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/cm1",
    content: null,
  });
  const after = Date.now();
  assert.match(message.header.msg_id, UUID);
  assert.ok(message.header.timestamp >= before && message.header.timestamp <= after);
  assert.deepEqual(message.route, {
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/cm1",
  });
  assert.deepEqual(Object.keys(message.header), ["msg_id", "timestamp"]);
});

Deno.test("newMessage gives every message its own id", () => {
  const init = { source: "s", group: "resource", operation: "insert", resource: "r", content: 1 } as const;
  const ids = new Set(Array.from({ length: 100 }, () => newMessage(init).header.msg_id));
  assert.equal(ids.size, 100);
});

Deno.test("newMessage writes resourceversion, parent_msg_id and sync when given and omits them when empty", () => {
  const base = {
    source: "s",
    group: "resource",
    operation: "update",
    resource: "default/pod/a",
    content: {},
  } as const;
  const full = newMessage({ ...base, resourceVersion: "12", parentId: "p", sync: true });
  assert.equal(full.header.resourceversion, "12");
  assert.equal(full.header.parent_msg_id, "p");
  assert.equal(full.header.sync, true);
  const empty = newMessage({ ...base, resourceVersion: "", parentId: "", sync: false });
  assert.deepEqual(Object.keys(empty.header), ["msg_id", "timestamp"]);
});

Deno.test("newMessage throws RangeError for a resourceVersion that is not decimal digits", () => {
  assert.throws(
    () =>
      newMessage({
        source: "s",
        group: "resource",
        operation: "update",
        resource: "r",
        content: 1,
        resourceVersion: "v2",
      }),
    (e: unknown) => e instanceof RangeError && e.message.startsWith("Cannot build message:"),
  );
});

Deno.test("responseTo answers with operation response, the request id as parent and the same route", () => {
  const response = responseTo(request, { Object: { kind: "ConfigMap" }, Err: null });
  assert.equal(response.route.operation, "response");
  assert.equal(response.header.parent_msg_id, "req-1");
  assert.notEqual(response.header.msg_id, "req-1");
  assert.match(response.header.msg_id, UUID);
  assert.equal(response.route.source, "edgecontroller");
  assert.equal(response.route.group, "resource");
  assert.equal(response.route.resource, "default/pod/nginx");
  assert.deepEqual(response.content, { Object: { kind: "ConfigMap" }, Err: null });
  assert.equal(response.header.resourceversion, undefined);
});

Deno.test("ackOf is a response with content OK that encodes as upstream expects", () => {
  const ack = ackOf(request);
  assert.equal(ack.content, "OK");
  assert.equal(ACK_CONTENT, "OK");
  const wire = JSON.parse(encode(ack));
  assert.deepEqual(wire.route, { ...request.route, operation: "response" });
  assert.equal(wire.header.parent_msg_id, "req-1");
  assert.equal(wire.content, "OK");
});

Deno.test("errorTo answers with operation error and the reason as content", () => {
  const error = errorTo(request, "Cannot store pod: disk full");
  assert.equal(error.route.operation, "error");
  assert.equal(error.header.parent_msg_id, "req-1");
  assert.equal(error.route.resource, "default/pod/nginx");
  assert.equal(error.content, "Cannot store pod: disk full");
});

Deno.test("responses keep a group and operation the request carried even when unknown to us", () => {
  const decoded = decode(
    '{"header":{"msg_id":"x","timestamp":1},"route":{"source":"taskmanager","group":"nodeupgrade",' +
      '"operation":"upgrade","resource":"task/1"},"content":null}',
  );
  if (!decoded.ok) assert.fail(decoded.error.message);
  const reply = errorTo(decoded.message, "Cannot upgrade: not supported");
  assert.equal(reply.route.group, "nodeupgrade");
  assert.equal(reply.route.source, "taskmanager");
});

Deno.test("keepaliveMessage matches upstream edgehub's keepalive frame", () => {
  const wire = JSON.parse(encode(keepaliveMessage()));
  assert.deepEqual(wire.route, {
    source: "websocket",
    group: "resource",
    operation: "keepalive",
    resource: "node",
  });
  assert.equal(wire.content, "ping");
  assert.deepEqual(Object.keys(wire.header), ["msg_id", "timestamp"]);
});
