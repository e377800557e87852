import assert from "node:assert/strict";
import { newMessage, responseTo } from "./message.ts";
import { PendingRequests } from "./pending_requests.ts";

const request = () =>
  newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/a",
    content: null,
  });

Deno.test("a reply resolves the request it names in parent_msg_id, and only that one", async () => {
  const pending = new PendingRequests();
  const a = request();
  const b = request();
  const waitA = pending.wait(a.header.msg_id, 1000);
  const waitB = pending.wait(b.header.msg_id, 1000);
  assert.equal(pending.resolve(a.header.msg_id, responseTo(a, "for a")), true);
  assert.equal((await waitA).content, "for a");
  assert.equal(pending.resolve("unknown", responseTo(a, "x")), false);
  pending.rejectAll(new Error("closed"));
  await assert.rejects(waitB, /closed/);
  assert.equal(pending.size, 0);
});

Deno.test("rejectAll of one group fails that group's requests and leaves the others", async () => {
  const pending = new PendingRequests();
  const a = request();
  const b = request();
  const waitA = pending.wait(a.header.msg_id, 1000, "edge-a");
  const waitB = pending.wait(b.header.msg_id, 1000, "edge-b");
  pending.rejectAll(new Error("edge-a disconnected"), "edge-a");
  await assert.rejects(waitA, /edge-a disconnected/);
  assert.equal(pending.size, 1);
  pending.resolve(b.header.msg_id, responseTo(b, "ok"));
  assert.equal((await waitB).content, "ok");
});

Deno.test("a request without a reply times out naming its node", async () => {
  const pending = new PendingRequests();
  await assert.rejects(pending.wait("m1", 20, "edge-a"), /m1 to node edge-a: no reply within 20 ms/);
  await assert.rejects(pending.wait("m2", 0), RangeError);
});
