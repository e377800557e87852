import assert from "node:assert/strict";
import { CallTimeoutError, ServiceCalls } from "./service_calls.ts";

const answer = { header: {}, status_code: 200, body: new Uint8Array() };

Deno.test("a servicebus answer is taken only from the node the call went to", async () => {
  const calls = new ServiceCalls(10);
  const waiting = calls.wait("m1", "edge-a", 1000);
  assert.equal(calls.answer("m1", "edge-b", () => answer), "other_node");
  assert.equal(calls.answer("nope", "edge-a", () => answer), "unmatched");
  assert.equal(calls.answer("m1", "edge-a", () => answer), "answered");
  assert.equal((await waiting).status_code, 200);
  assert.equal(calls.size, 0);
});

Deno.test("a call without an answer times out; the limit makes the table full", async () => {
  const calls = new ServiceCalls(1);
  const waiting = calls.wait("m1", "edge-a", 20);
  assert.equal(calls.full, true);
  await assert.rejects(waiting, CallTimeoutError);
  assert.equal(calls.full, false);
  const left = new AbortController();
  const gone = calls.wait("m2", "edge-a", 1000, left.signal);
  left.abort();
  await assert.rejects(gone, /caller left/);
});
