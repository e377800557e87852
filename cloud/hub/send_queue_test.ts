import assert from "node:assert/strict";
import { type QueueEntry, QueueFullError, SendQueue } from "./send_queue.ts";

let counter = 0;
function entry(uid: string, resourceVersion?: string, isDelete = false): QueueEntry {
  const msgId = `m${++counter}`;
  return { uid, msgId, resourceVersion, isDelete, operation: isDelete ? "delete" : "update", frame: msgId };
}

function drain(queue: SendQueue): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let e = queue.take(); e; e = queue.take()) out.push(e);
  return out;
}

function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

Deno.test("send queue keeps only the newest resourceVersion of one uid", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  assert.equal(q.enqueue(entry("a", "5")), "queued");
  const newer = entry("a", "7");
  assert.equal(q.enqueue(newer), "replaced");
  assert.deepEqual(drain(q).map((e) => e.msgId), [newer.msgId]);
});

Deno.test("send queue ignores an older resourceVersion after a newer one", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const newer = entry("a", "10");
  q.enqueue(newer);
  assert.equal(q.enqueue(entry("a", "9")), "ignored");
  assert.equal(q.enqueue(entry("a", "10")), "ignored");
  assert.deepEqual(drain(q).map((e) => e.msgId), [newer.msgId]);
});

Deno.test("send queue compares resourceVersions as integers", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  q.enqueue(entry("a", "9"));
  const newer = entry("a", "10");
  assert.equal(q.enqueue(newer), "replaced");
  assert.equal(drain(q)[0]?.msgId, newer.msgId);
});

Deno.test("send queue lets a delete win over a queued update", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  q.enqueue(entry("a", "5"));
  // A tombstone may carry the last known resourceVersion, no newer than the queued update.
  const del = entry("a", "5", true);
  assert.equal(q.enqueue(del), "replaced");
  assert.deepEqual(drain(q).map((e) => e.msgId), [del.msgId]);
});

Deno.test("send queue replaces a queued delete only with an update at the same or a newer version", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const del = entry("a", "5", true);
  q.enqueue(del);
  assert.equal(q.enqueue(entry("a", "4")), "ignored", "a stale update never undoes a delete");
  // The object came back to this node unchanged (a new pod references the ConfigMap again).
  const back = entry("a", "5");
  assert.equal(q.enqueue(back), "replaced");
  assert.deepEqual(drain(q).map((e) => e.msgId), [back.msgId]);
});

Deno.test("send queue keeps an item until its ack and drops it after", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const e = entry("a", "1");
  q.enqueue(e);
  q.take();
  assert.equal(q.size, 1);
  assert.equal(q.unacked, 1);
  assert.equal(q.ack("unknown"), false);
  assert.equal(q.ack(e.msgId), true);
  assert.equal(q.size, 0);
  assert.equal(q.unacked, 0);
});

Deno.test("send queue ignores the late ack of a replaced item", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const old = entry("a", "1");
  q.enqueue(old);
  q.take();
  const newer = entry("a", "2");
  q.enqueue(newer);
  assert.equal(q.ack(old.msgId), false);
  assert.equal(q.take()?.msgId, newer.msgId);
});

Deno.test("send queue resends an unacked item after resendMs", () => {
  const clock = fakeClock();
  const q = new SendQueue({ limit: 10, resendMs: 5000, now: clock.now });
  const e = entry("a", "1");
  q.enqueue(e);
  q.take();
  assert.equal(q.nextResendAt(), 5000);
  clock.advance(4999);
  assert.equal(q.expire(), 0);
  assert.equal(q.take(), undefined);
  clock.advance(1);
  assert.equal(q.expire(), 1);
  assert.equal(q.take()?.msgId, e.msgId);
});

Deno.test("send queue writes unacked items again first after requeueAll", () => {
  const q = new SendQueue({ limit: 10, resendMs: 5000 });
  const a = entry("a", "1");
  const b = entry("b", "1");
  q.enqueue(a);
  q.take();
  q.enqueue(b);
  q.requeueAll();
  assert.deepEqual(drain(q).map((e) => e.uid), ["a", "b"]);
});

Deno.test("send queue refuses a new uid when full but still accepts newer versions of queued ones", () => {
  const q = new SendQueue({ limit: 2, resendMs: 1000 });
  q.enqueue(entry("a", "1"));
  q.enqueue(entry("b", "1"));
  assert.throws(() => q.enqueue(entry("c", "1")), QueueFullError);
  assert.equal(q.enqueue(entry("a", "2")), "replaced");
  assert.equal(q.size, 2);
});

Deno.test("send queue ignores an update older than the acked version or an acked delete, and a repeated delete", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const e = entry("a", "10");
  q.enqueue(e);
  q.take();
  q.ack(e.msgId);
  assert.equal(q.enqueue(entry("a", "9")), "ignored");
  const del = entry("a", "11", true);
  assert.equal(q.enqueue(del), "queued");
  q.take();
  q.ack(del.msgId);
  assert.equal(q.enqueue(entry("a", "10")), "ignored");
  assert.equal(q.enqueue(entry("a", "11", true)), "ignored");
  assert.equal(q.enqueue(entry("a", "11")), "queued", "the same object sent to the node again after it left");
});

Deno.test("send queue refuses a resourceVersion that is not decimal digits", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  assert.throws(() => q.enqueue(entry("a", "12a")), RangeError);
});

Deno.test("send queue accepts the object again after an acked delete that carried no resourceVersion", () => {
  const q = new SendQueue({ limit: 10, resendMs: 1000 });
  const del = entry("a", undefined, true);
  q.enqueue(del);
  q.take();
  q.ack(del.msgId);
  assert.equal(q.enqueue(entry("a", "5")), "queued");
});
