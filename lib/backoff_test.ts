import assert from "node:assert/strict";
import { Backoff, sleep } from "./backoff.ts";

Deno.test("backoff ceiling doubles from initialMs up to capMs", () => {
  const backoff = new Backoff({ initialMs: 1000, capMs: 30000, random: () => 0.999999 });
  const delays = Array.from({ length: 8 }, () => backoff.next());
  assert.deepEqual(delays, [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
});

Deno.test("backoff uses full jitter between 0 and the ceiling", () => {
  const backoff = new Backoff({ initialMs: 1000, capMs: 30000, random: () => 0 });
  assert.equal(backoff.next(), 0);
  const half = new Backoff({ initialMs: 1000, capMs: 30000, random: () => 0.5 });
  assert.deepEqual([half.next(), half.next(), half.next()], [500, 1000, 2000]);
});

Deno.test("backoff reset starts again from initialMs", () => {
  const backoff = new Backoff({ initialMs: 100, capMs: 1000, random: () => 0.5 });
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.next(), 50);
});

Deno.test("backoff refuses a cap below the initial delay", () => {
  assert.throws(() => new Backoff({ initialMs: 100, capMs: 10 }), RangeError);
});

Deno.test("sleep returns at once when aborted and leaves no timer behind", async () => {
  const controller = new AbortController();
  const started = performance.now();
  const slept = sleep(60_000, controller.signal);
  controller.abort();
  assert.equal(await slept, false);
  assert.ok(performance.now() - started < 1000);
});

Deno.test("sleep resolves true after the full time", async () => {
  assert.equal(await sleep(5, new AbortController().signal), true);
});

Deno.test("sleep takes its abort listener off the signal when the time is up", async () => {
  // A loop that sleeps on one long-lived signal (the pod manager's relist, once a second) must not leave a
  // listener, with its timer and closure, on the signal per period: that was edgecore's idle memory growth.
  const signal = new AbortController().signal;
  let live = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (
    ...args: Parameters<typeof add>
  ) => (args[0] === "abort" && live++, add(...args));
  signal.removeEventListener = (...args: Parameters<typeof remove>) => (
    args[0] === "abort" && live--, remove(...args)
  );
  for (let i = 0; i < 20; i++) assert.equal(await sleep(1, signal), true);
  assert.equal(live, 0);
});
