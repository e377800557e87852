import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

Deno.test("backoff lets the first try go, then doubles from 10 s up to 5 min", () => {
  let now = 0;
  const b = new Backoff({ initialMs: 10_000, maxMs: 300_000, now: () => now });
  assert.equal(b.remaining("k"), 0);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    b.next("k");
    delays.push(b.delay("k"));
    now += b.delay("k");
  }
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  b.next("k");
  assert.equal(b.remaining("k"), 300_000);
  now += 2 * 300_000 + 1;
  assert.equal(b.remaining("k"), 0, "an entry idle for twice the maximum is forgotten");
});
