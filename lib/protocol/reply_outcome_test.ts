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
