/**
 * Abuse of the hub's per-node state, each beside 50 honest edges that must not notice: an edge that stops
 * reading while its objects change 10,000 times, and more edges than nodeLimit.
 */
import assert from "node:assert/strict";
import { connectRawEdge, delay, type RawEdge, waitFor } from "../../cloud/hub/test_util.ts";
import { ackOf, type Message, newMessage } from "../../lib/protocol/mod.ts";
import { assertWithstood, MiB, pki, underAttack } from "./hub_under_attack.ts";

const OBJECTS = 100;
const UPDATES = 10_000;

function podUpdate(name: string, resourceVersion: number, padding: string): Message {
  return newMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource: `default/pod/${name}`,
    content: {
      metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: `${resourceVersion}` },
      padding,
    },
    resourceVersion: `${resourceVersion}`,
  });
}

Deno.test("a slow reader with 10,000 updates for 100 objects: its queue stays at 100, and it gets the last state of each", async () => {
  let slow: RawEdge | undefined;
  let mostQueued = 0;
  let received = 0;
  const last = new Map<string, number>();
  const report = await underAttack({ highWaterBytes: 64 * 1024 }, async ({ hub, port }) => {
    slow = await connectRawEdge({ port, credentials: await pki.nodeCredentials("slow"), nodeId: "slow" });
    slow.ws.on("message", () => {
      // Ack the newest frame, as edgecore acks once it stored the object.
      const m = slow!.received.at(-1);
      if (!m) return;
      received++;
      last.set(m.route.resource, Number(m.header.resourceversion));
      slow!.send(ackOf(m));
    });
    slow.ws.pause();
    const padding = "x".repeat(2048);
    for (let i = 0; i < UPDATES; i++) {
      hub.send("slow", { message: podUpdate(`p${i % OBJECTS}`, i + 1, padding), uid: `uid-p${i % OBJECTS}` });
      mostQueued = Math.max(mostQueued, hub.queueStats("slow").queued);
      if (i % 1000 === 999) await delay(1);
    }
    await delay(500);
    slow.ws.resume();
    await waitFor(() => hub.queueStats("slow").queued === 0, 10_000, "the slow reader's queue drained");
    await slow.close();
  });
  assertWithstood("slow reader", report, 64 * MiB);
  console.log(`slow reader: most queued ${mostQueued}, frames received ${received} for ${UPDATES} updates`);
  assert.ok(mostQueued <= OBJECTS, `the queue held ${mostQueued} entries for ${OBJECTS} objects`);
  assert.ok(received < UPDATES / 2, `coalesced: ${received} frames for ${UPDATES} updates`);
  for (let i = 0; i < OBJECTS; i++) {
    const finalVersion = UPDATES - OBJECTS + i + 1;
    assert.equal(last.get(`default/pod/p${i}`), finalVersion, `p${i} ends at its last version`);
  }
});

Deno.test("edges beyond nodeLimit are refused with 503, each explicitly; the honest edges keep their sessions", async () => {
  const extra = 20;
  const free = 10;
  const outcomes: string[] = [];
  const report = await underAttack({ nodeLimit: 50 + free }, async ({ port }) => {
    const tries = await Promise.allSettled(
      Array.from(
        { length: extra },
        async (_, i) =>
          connectRawEdge({
            port,
            credentials: await pki.nodeCredentials(`crowd-${i}`),
            nodeId: `crowd-${i}`,
          }),
      ),
    );
    for (const t of tries) outcomes.push(t.status === "fulfilled" ? "open" : String(t.reason?.message));
    for (const t of tries) if (t.status === "fulfilled") await t.value.close();
  });
  assertWithstood("nodeLimit", report, 48 * MiB);
  assert.equal(outcomes.filter((o) => o === "open").length, free, outcomes.join(", "));
  assert.equal(outcomes.filter((o) => o === "HTTP 503").length, extra - free, outcomes.join(", "));
});
