import assert from "node:assert/strict";
import { registerProcessMetrics } from "./process_metrics.ts";
import { Registry } from "./metrics.ts";

Deno.test("process metrics report V8's heap by space, what it holds and what is live", () => {
  const registry = new Registry();
  const metrics = registerProcessMetrics(registry, "t", 1000);
  try {
    const text = registry.render();
    const value = (space: string, of: string) => {
      const line = text.split("\n").find((l) =>
        l.startsWith(`t_js_heap_space_bytes{space="${space}",of="${of}"}`)
      );
      assert.ok(line, `no ${space} ${of} series in:\n${text}`);
      return Number(line.split(" ").at(-1));
    };
    const held = value("old_space", "size");
    const live = value("old_space", "used");
    assert.ok(live > 0 && live <= held, `old space used ${live} of ${held}`);
    assert.ok(value("new_space", "size") > 0);
    assert.ok(Number(/t_process_resident_memory_bytes (\d+)/.exec(text)?.[1]) > held);
  } finally {
    metrics.stop();
  }
});
