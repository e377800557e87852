import assert from "node:assert/strict";
import { newMessage } from "./message.ts";
import { replyOutcome } from "./reply_outcome.ts";

const reply = (operation: "response" | "error", content: unknown) =>
  newMessage({ source: "edgecontroller", group: "resource", operation, resource: "x/lease/n", content });

Deno.test("replyOutcome reads kedge's error replies and KubeEdge's Err statuses", () => {
  assert.deepEqual(replyOutcome(reply("error", "Cannot x: y")), { ok: false, reason: "Cannot x: y" });
  assert.deepEqual(replyOutcome(reply("response", { Object: { a: 1 }, Err: null })), {
    ok: true,
    object: { a: 1 },
  });
  assert.deepEqual(replyOutcome(reply("response", "OK")), { ok: true, object: "OK" });
  const notFound = {
    Object: null,
    Err: { ErrStatus: { status: "Failure", reason: "NotFound", code: 404, message: 'leases "n" not found' } },
  };
  assert.deepEqual(replyOutcome(reply("response", notFound)), {
    ok: false,
    reason: 'leases "n" not found',
    statusReason: "NotFound",
    code: 404,
  });
  const plain = replyOutcome(reply("response", { Object: null, Err: {} }));
  assert.equal(plain.ok, false);
});

Deno.test("replyOutcome reads a bare StatusError (a failed query upstream) as a failure, a Status-shaped object as an object", () => {
  const bare = {
    ErrStatus: { status: "Failure", reason: "NotFound", code: 404, message: 'configmaps "c" not found' },
  };
  assert.deepEqual(replyOutcome(reply("response", bare)), {
    ok: false,
    reason: 'configmaps "c" not found',
    statusReason: "NotFound",
    code: 404,
  });
  const object = { metadata: { name: "c" }, ErrStatus: { note: "a field of the object" } };
  assert.deepEqual(replyOutcome(reply("response", object)), { ok: true, object });
});
