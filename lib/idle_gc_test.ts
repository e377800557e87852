import assert from "node:assert/strict";
import { registerIdleGcMetrics, startIdleGc } from "./idle_gc.ts";
import { Registry } from "./metrics.ts";

const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";

Deno.test({
  name: "idle gc collects when the heap grew past its threshold, and on its period otherwise",
  ignore: !hasGc,
  async fn() {
    const idle = startIdleGc({ periodMs: 1_500, checkMs: 100, growthBytes: 4 * 1024 * 1024 });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(idle.runs, { period: 0, growth: 0 }, "nothing grew and the period has not passed");
      // 8 MiB of double arrays kept alive across the next check: growth, not the period, starts a collection.
      let kept: number[][] | undefined = Array.from(
        { length: 512 },
        (_, i) => Array.from({ length: 2048 }, (_, j) => i + j + 0.5),
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(kept.length, 512);
      kept = undefined;
      assert.equal(idle.runs.growth, 1);
      assert.equal(idle.runs.period, 0);
      await new Promise((r) => setTimeout(r, 1_700));
      assert.equal(idle.runs.period, 1, "the period passed since the last collection");
      assert.equal(idle.runs.growth, 1, "what the last collection freed is not growth");
      const registry = new Registry();
      registerIdleGcMetrics(registry, "t", idle);
      const text = registry.render();
      assert.match(text, /t_forced_gc_runs\{reason="growth"\} 1\n/);
      assert.match(text, /t_forced_gc_runs\{reason="period"\} 1\n/);
      assert.ok(Number(/^t_forced_gc_seconds (\S+)$/m.exec(text)?.[1]) > 0);
    } finally {
      idle.stop();
    }
  },
});

Deno.test("idle gc does nothing where the runtime does not expose gc", () => {
  const saved = (globalThis as { gc?: unknown }).gc;
  (globalThis as { gc?: unknown }).gc = undefined;
  try {
    const idle = startIdleGc({ checkMs: 10 });
    idle.stop();
    assert.deepEqual(idle.runs, { period: 0, growth: 0 });
  } finally {
    (globalThis as { gc?: unknown }).gc = saved;
  }
});
