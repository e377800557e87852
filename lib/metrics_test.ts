import assert from "node:assert/strict";
import { Registry } from "./metrics.ts";

Deno.test("registry renders counters and gauges with escaped labels in Prometheus text format", () => {
  const registry = new Registry();
  const messages = registry.counter("kedge_messages_total", "Messages by operation.");
  const nodes = registry.gauge("kedge_connected_nodes", "Connected nodes.");
  messages.inc({ operation: "insert" });
  messages.inc({ operation: "insert" }, 2);
  messages.inc({ operation: 'we"ird\n' });
  nodes.set(3);
  const text = registry.render();
  assert.match(text, /# TYPE kedge_messages_total counter/);
  assert.match(text, /^kedge_messages_total\{operation="insert"\} 3$/m);
  assert.match(text, /^kedge_messages_total\{operation="we\\"ird\\n"\} 1$/m);
  assert.match(text, /^kedge_connected_nodes 3$/m);
});

Deno.test("collectors run at scrape time and removed series disappear", () => {
  const registry = new Registry();
  const depth = registry.gauge("kedge_queue_depth", "Queue depth.");
  let current = 5;
  registry.onCollect(() => depth.set(current, { node: "a" }));
  assert.match(registry.render(), /kedge_queue_depth\{node="a"\} 5/);
  current = 7;
  assert.match(registry.render(), /kedge_queue_depth\{node="a"\} 7/);
  depth.set(1, { node: "b" });
  depth.remove({ node: "b" });
  assert.doesNotMatch(registry.render(), /node="b"/);
});

Deno.test("a counter refuses to go down and a duplicate metric name is refused", () => {
  const registry = new Registry();
  const c = registry.counter("kedge_x_total", "x");
  assert.throws(() => c.inc({}, -1), RangeError);
  assert.throws(() => registry.gauge("kedge_x_total", "again"), RangeError);
});
