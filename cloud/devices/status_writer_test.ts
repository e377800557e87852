import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { StatusNotWrittenError, StatusWriter } from "./status_writer.ts";
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
  const burst: Promise<void>[] = [];
  for (let i = 2; i <= 10; i++) burst.push(w.submit("default/t1", reported(String(i), i)));
  assert.equal(writes.length, 1);
  assert.equal(coalesced(), 9);
  await Promise.all(burst);
  assert.equal(writes.length, 2, "each of the burst resolves with the one write that holds them all");
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

Deno.test("status writer retries a failed write, newer values over the failed ones; submit resolves with the write that holds", async () => {
  let failing = true;
  const { w, writes } = writer({ fail: () => failing });
  let firstDone = false;
  const first = w.submit("default/t1", reported("1", 1)).then(() => firstDone = true);
  await sleep(20);
  assert.equal(writes.length, 0);
  assert.equal(firstDone, false, "not acknowledged while its write fails");
  const second = w.submit("default/t1", {
    twins: new Map([["humidity", { reported: { value: "40", metadata: { timestamp: "2" } } }]]),
  });
  failing = false;
  await Promise.all([first, second]);
  assert.equal(writes.length, 1);
  assert.deepEqual(writes[0]!.twins!.map((t) => `${t.propertyName}=${t.reported?.value}`).sort(), [
    "humidity=40",
    "temperature=1",
  ]);
  await w.stop();
});

Deno.test("status writer refuses a report it could not write: the device is gone, or cloudcore stops", async () => {
  let gone = false;
  let failing = false;
  let release: () => void = () => {};
  const w = new StatusWriter({
    current: () => ({}),
    patch: () => {
      if (gone) return Promise.reject(Object.assign(new Error("not found"), { code: 404 }));
      if (failing) return Promise.reject(new Error("connection refused"));
      return new Promise<void>((resolve) => release = resolve);
    },
    isGone: (error) => (error as { code?: number }).code === 404,
    log: quiet,
    intervalMs: 50,
  });
  let acked = false;
  const held = w.submit("default/slow", reported("1", 1)).then(() => acked = true);
  await sleep(20);
  assert.equal(acked, false, "not acknowledged before the apiserver answered the write");
  release();
  await held;
  assert.equal(acked, true);

  gone = true;
  await assert.rejects(w.submit("default/gone", reported("1", 1)), StatusNotWrittenError);

  gone = false;
  failing = true;
  const lost = w.submit("default/down", reported("1", 1));
  await sleep(20);
  await w.stop();
  await assert.rejects(lost, StatusNotWrittenError, "refused, so the edge keeps it and sends it again");
  await assert.rejects(w.submit("default/late", reported("1", 1)), StatusNotWrittenError);
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
  const first = w.submit("default/t1", reported("1", 1));
  // Retries at 20, 60, 140 and 300 ms (doubling); a fixed interval would have tried 25 times.
  await sleep(500);
  assert.ok(attempts >= 4 && attempts <= 6, `attempts in 500 ms while failing: ${attempts}`);
  assert.equal(warns.length, 1, "one warn line for a run of failures");
  failing = false;
  await first;
  await sleep(100);
  const afterRecovery = attempts;
  await w.submit("default/t1", reported("2", 2));
  assert.equal(attempts, afterRecovery + 1, "after a success the next report is written at once");
  await w.stop();
});

Deno.test("status writer writes what it holds on stop", async () => {
  const { w, writes } = writer({ intervalMs: 10_000 });
  await w.submit("default/t1", reported("1", 1));
  const second = w.submit("default/t1", reported("2", 2));
  await w.stop();
  await second;
  assert.equal(writes.length, 2);
  assert.equal(writes[1]!.twins![0]!.reported!.value, "2");
});
