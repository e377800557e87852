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

Deno.test("status writer backs off a device whose writes keep failing, warns once, and writes at once again after a success", async () => {
  let failing = true;
  let attempts = 0;
  const warns: unknown[] = [];
  const w = new StatusWriter({
    current: () => ({}),
    patch: () => {
      attempts++;
      return failing ? Promise.reject(new Error("connection refused")) : Promise.resolve();
    },
    isGone: () => false,
    log: createLogger({ level: "warn", write: (line) => warns.push(line) }),
    intervalMs: 20,
    maxRetryMs: 1000,
    random: () => 1,
  });
  await w.submit("default/t1", reported("1", 1));
  // Retries at 20, 60, 140 and 300 ms (doubling); a fixed interval would have tried 25 times.
  await sleep(500);
  assert.ok(attempts >= 4 && attempts <= 6, `attempts in 500 ms while failing: ${attempts}`);
  assert.equal(warns.length, 1, "one warn line for a run of failures");
  failing = false;
  await sleep(700);
  const afterRecovery = attempts;
  await w.submit("default/t1", reported("2", 2));
  assert.equal(attempts, afterRecovery + 1, "after a success the next report is written at once");
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
