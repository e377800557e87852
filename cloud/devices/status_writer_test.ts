import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { StatusWriter } from "./status_writer.ts";
import type { DeviceStatus, StatusUpdate } from "./wire.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const reported = (value: string, timestamp: number): StatusUpdate => ({
  twins: new Map([["temperature", { reported: { value, metadata: { timestamp: String(timestamp) } } }]]),
});

function writer(options: { fail?: () => boolean; intervalMs?: number } = {}) {
  const writes: DeviceStatus[] = [];
  let coalesced = 0;
  const w = new StatusWriter({
    current: () => ({}),
    patch: (_key, status) => {
      if (options.fail?.()) return Promise.reject(new Error("apiserver unavailable"));
      writes.push(structuredClone(status));
      return Promise.resolve();
    },
    isGone: () => false,
    log: quiet,
    intervalMs: options.intervalMs ?? 100,
    onCoalesced: () => coalesced++,
  });
  return { w, writes, coalesced: () => coalesced };
}

Deno.test("status writer writes the first report at once and folds a burst into one later write, latest wins", async () => {
  const { w, writes, coalesced } = writer();
  await w.submit("default/t1", reported("1", 1));
  assert.equal(writes.length, 1, "the first report is written before submit resolves");
  for (let i = 2; i <= 10; i++) await w.submit("default/t1", reported(String(i), i));
  assert.equal(writes.length, 1);
  assert.equal(coalesced(), 9);
  await sleep(200);
  assert.equal(writes.length, 2);
  assert.deepEqual(writes[1]!.twins, [
    { propertyName: "temperature", reported: { value: "10", metadata: { timestamp: "10" } } },
  ]);
  await w.stop();
});

Deno.test("status writer keeps every property and the state across coalesced reports", async () => {
  const { w, writes } = writer();
  await w.submit("default/t1", reported("1", 1));
  await w.submit("default/t1", {
    twins: new Map([["humidity", { reported: { value: "40", metadata: { timestamp: "2" } } }]]),
  });
  await w.submit("default/t1", { twins: new Map(), state: "online", lastOnlineTime: "2025-01-01T00:00:00Z" });
  await sleep(200);
  const last = writes.at(-1)!;
  assert.deepEqual(last.twins!.map((t) => `${t.propertyName}=${t.reported?.value}`).sort(), [
    "humidity=40",
    "temperature=1",
  ]);
  assert.equal(last.state, "online");
  await w.stop();
});

Deno.test("status writer retries a failed write an interval later, newer values over the failed ones", async () => {
  let failing = true;
  const { w, writes } = writer({ fail: () => failing });
  await w.submit("default/t1", reported("1", 1));
  assert.equal(writes.length, 0);
  await w.submit("default/t1", {
    twins: new Map([["humidity", { reported: { value: "40", metadata: { timestamp: "2" } } }]]),
  });
  failing = false;
  await sleep(200);
  assert.equal(writes.length, 1);
  assert.deepEqual(writes[0]!.twins!.map((t) => `${t.propertyName}=${t.reported?.value}`).sort(), [
    "humidity=40",
    "temperature=1",
  ]);
  await w.stop();
});

Deno.test("status writer writes what it holds on stop", async () => {
  const { w, writes } = writer({ intervalMs: 10_000 });
  await w.submit("default/t1", reported("1", 1));
  await w.submit("default/t1", reported("2", 2));
  await w.stop();
  assert.equal(writes.length, 2);
  assert.equal(writes[1]!.twins![0]!.reported!.value, "2");
});
