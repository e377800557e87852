import assert from "node:assert/strict";
import { decode, encode } from "./codec.ts";
import { newMessage } from "./message.ts";
import { accepted, envelope, refused } from "./test_util.ts";
import type { Message } from "./types.ts";

const fixed: Message = {
  header: { msg_id: "m1", timestamp: 1700000000000 },
  route: { source: "edgecontroller", group: "resource", operation: "insert", resource: "default/pod/nginx" },
  content: { metadata: { name: "nginx" } },
};

Deno.test("decode(encode(m)) returns the same message, from a string or from bytes", () => {
  const message = newMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource: "default/pod/nginx",
    content: { spec: { containers: [{ name: "c", image: "nginx:1.27" }] }, note: "é ✓ 😀" },
    resourceVersion: "12345",
    parentId: "p-1",
    sync: true,
  });
  const frame = encode(message);
  assert.deepEqual(accepted(frame), message);
  assert.deepEqual(accepted(new TextEncoder().encode(frame)), message);
});

Deno.test("encode writes the exact wire keys in wire order, with route and not router", () => {
  assert.equal(
    encode(fixed),
    '{"header":{"msg_id":"m1","timestamp":1700000000000},"route":{"source":"edgecontroller","group":"resource",' +
      '"operation":"insert","resource":"default/pod/nginx"},"content":{"metadata":{"name":"nginx"}}}',
  );
  const full = {
    ...fixed,
    header: { ...fixed.header, parent_msg_id: "p", resourceversion: "7", sync: true },
  };
  const wire = JSON.parse(encode(full));
  assert.deepEqual(Object.keys(wire), ["header", "route", "content"]);
  assert.deepEqual(Object.keys(wire.header), [
    "msg_id",
    "parent_msg_id",
    "timestamp",
    "resourceversion",
    "sync",
  ]);
});

Deno.test("encode omits empty optional header fields and keys the caller added", () => {
  const sloppy = {
    ...fixed,
    header: { ...fixed.header, parent_msg_id: "", resourceversion: "", sync: false },
    router: { source: "x" },
  };
  const wire = JSON.parse(encode(sloppy));
  assert.deepEqual(Object.keys(wire), ["header", "route", "content"]);
  assert.deepEqual(Object.keys(wire.header), ["msg_id", "timestamp"]);
});

Deno.test("encode writes absent content as null", () => {
  const wire = JSON.parse(encode({ ...fixed, content: undefined }));
  assert.equal(wire.content, null);
  assert.ok("content" in wire);
});

Deno.test("decode accepts an upstream frame and drops empty optional fields and unknown keys", () => {
  const message = accepted(
    '{"header":{"msg_id":"a","parent_msg_id":"","timestamp":5,"resourceversion":"42","sync":false,"tag":"x"},' +
      '"route":{"source":"edgecontroller","group":"resource","operation":"insert","resource":"default/pod/nginx"},' +
      '"content":"OK","extra":1}',
  );
  assert.deepEqual(message, {
    header: { msg_id: "a", timestamp: 5, resourceversion: "42" },
    route: {
      source: "edgecontroller",
      group: "resource",
      operation: "insert",
      resource: "default/pod/nginx",
    },
    content: "OK",
  });
});

Deno.test("decode keeps an operation and group it does not know, so a compatible peer is not dropped", () => {
  const message = accepted(
    '{"header":{"msg_id":"a","timestamp":5},"route":{"source":"taskmanager","group":"nodeupgradejobcontroller",' +
      '"operation":"upgrade","resource":"x"},"content":null}',
  );
  assert.equal(message.route.operation, "upgrade");
  assert.equal(message.route.group, "nodeupgradejobcontroller");
});

Deno.test("decode reads absent content as null and absent source or resource as empty, like Go", () => {
  const message = accepted(
    '{"header":{"msg_id":"a","timestamp":5},"route":{"group":"resource","operation":"query"}}',
  );
  assert.equal(message.content, null);
  assert.equal(message.route.source, "");
  assert.equal(message.route.resource, "");
});

Deno.test("decode rejects null with invalid_shape", () => {
  assert.match(refused("null", "invalid_shape").message, /\(root\): Invalid type: Expected Object/);
});

Deno.test("decode rejects a header that is a string with invalid_shape naming header", () => {
  assert.match(
    refused(envelope("1").replace(/"header":\{[^}]*\}/, '"header":"h"'), "invalid_shape").message,
    /header: /,
  );
});

Deno.test("decode rejects a timestamp that is a string with invalid_shape naming header.timestamp", () => {
  const error = refused(envelope("1").replace('"timestamp":1', '"timestamp":"1"'), "invalid_shape");
  assert.match(error.message, /header\.timestamp: Invalid type: Expected number/);
});

Deno.test("decode rejects a negative or fractional timestamp and an empty msg_id", () => {
  assert.match(
    refused(envelope("1").replace('"timestamp":1', '"timestamp":-1'), "invalid_shape").message,
    /timestamp/,
  );
  assert.match(
    refused(envelope("1").replace('"timestamp":1', '"timestamp":1.5'), "invalid_shape").message,
    /integer/,
  );
  assert.match(
    refused(envelope("1").replace('"msg_id":"m1"', '"msg_id":""'), "invalid_shape").message,
    /msg_id/,
  );
});

Deno.test("decode rejects a frame without route with invalid_shape naming route", () => {
  const error = refused('{"header":{"msg_id":"a","timestamp":1},"content":1}', "invalid_shape");
  assert.match(error.message, /route: Invalid key/);
});

Deno.test("decode rejects the misspelt key router as a missing route", () => {
  const error = refused(envelope("1").replace('"route"', '"router"'), "invalid_shape");
  assert.match(error.message, /route: Invalid key/);
});

Deno.test("decode rejects an operation that is a number with invalid_shape naming route.operation", () => {
  const error = refused(envelope("1").replace('"operation":"insert"', '"operation":5'), "invalid_shape");
  assert.match(error.message, /route\.operation: Invalid type: Expected string/);
});

Deno.test("decode rejects a non-numeric resourceversion with invalid_shape", () => {
  const error = refused(
    envelope("1").replace('"timestamp":1', '"timestamp":1,"resourceversion":"12a"'),
    "invalid_shape",
  );
  assert.match(error.message, /header\.resourceversion: resourceversion must be a string of decimal digits/);
});

Deno.test("decode reports every shape problem in one message", () => {
  const error = refused(
    '{"header":{"msg_id":1,"timestamp":"x"},"route":{"group":"resource"}}',
    "invalid_shape",
  );
  for (const path of ["header.msg_id", "header.timestamp", "route.operation"]) {
    assert.ok(error.message.includes(path));
  }
  assert.equal(error.message.split("; ").length, 3);
});

Deno.test("encode refuses a message over maxBytes with RangeError", () => {
  assert.throws(
    () => encode(fixed, { maxBytes: 50 }),
    (e: unknown) => e instanceof RangeError && /bytes/.test(e.message),
  );
  const frame = encode(fixed);
  assert.equal(encode(fixed, { maxBytes: frame.length }), frame);
});

Deno.test("encode refuses what decode would refuse: bad header, cyclic content, too deep", () => {
  const badVersion = { ...fixed, header: { ...fixed.header, resourceversion: "v1" } };
  assert.throws(() => encode(badVersion), /Cannot encode message: header\.resourceversion/);
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  assert.throws(() => encode({ ...fixed, content: cyclic }), TypeError);
  assert.throws(() => encode({ ...fixed, content: [[[[[]]]]] }, { maxDepth: 4 }), RangeError);
});

Deno.test("decode and encode refuse invalid limits with RangeError", () => {
  assert.throws(() => decode("{}", { maxBytes: 0 }), RangeError);
  assert.throws(() => decode("{}", { maxBytes: Number.NaN }), RangeError);
  assert.throws(() => encode(fixed, { maxDepth: -1 }), RangeError);
});

Deno.test("decode reads KubeEdge's ServiceBus error answer, which has no operation, as an upload; nothing else", () => {
  const answer = (route: Record<string, unknown>, parent = "call-1") =>
    JSON.stringify({
      header: { msg_id: "m1", parent_msg_id: parent, timestamp: 1 },
      route,
      content: { header: { Server: ["kubeedge-edgecore"] }, status_code: 404, body: null },
    });
  const ok = decode(answer({ source: "servicebus", group: "user" }));
  assert.ok(ok.ok);
  assert.equal(ok.message.route.operation, "upload");
  assert.ok(!decode(answer({ source: "edged", group: "user" })).ok);
  assert.ok(!decode(answer({ source: "servicebus", group: "resource" })).ok);
  assert.ok(!decode(answer({ source: "servicebus", group: "user" }, "")).ok);
});
