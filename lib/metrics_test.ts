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

Deno.test("a label set finds the same series in any order, and distinct sets never share one", () => {
  const registry = new Registry();
  const c = registry.counter("kedge_msgs_total", "Messages.");
  c.inc({ direction: "in", operation: "update" });
  c.inc({ operation: "update", direction: "in" }, 2);
  c.inc({ a: "1", b: "2", c: "3" });
  c.inc({ c: "3", a: "1", b: "2" });
  // Sets that a naive concatenation would confuse.
  c.inc({ a: "b=c" });
  c.inc({ "a=b": "c" });
  c.inc({ a: "" });
  c.inc({});
  assert.equal(c.get({ operation: "update", direction: "in" }), 3);
  assert.equal(c.get({ b: "2", c: "3", a: "1" }), 2);
  assert.equal(c.get({ a: "b=c" }), 1);
  assert.equal(c.get({ "a=b": "c" }), 1);
  assert.equal(c.get({ a: "" }), 1);
  assert.equal(c.get(), 1);
  assert.equal(c.get({ a: "1" }), 0);
  // Rendered in creation order, labels as first given.
  assert.equal(
    registry.render(),
    [
      "# HELP kedge_msgs_total Messages.",
      "# TYPE kedge_msgs_total counter",
      'kedge_msgs_total{direction="in",operation="update"} 3',
      'kedge_msgs_total{a="1",b="2",c="3"} 2',
      'kedge_msgs_total{a="b=c"} 1',
      'kedge_msgs_total{a=b="c"} 1',
      'kedge_msgs_total{a=""} 1',
      "kedge_msgs_total 1",
      'kedge_msgs_total{a="1"} 0',
      "",
    ].join("\n"),
  );
});

Deno.test("removing a series leaves its siblings and a re-added series renders last", () => {
  const registry = new Registry();
  const g = registry.gauge("kedge_depth", "Depth.");
  g.set(1, { node: "a", kind: "x" });
  g.set(2, { node: "b", kind: "x" });
  g.set(3, { node: "a" });
  g.remove({ kind: "x", node: "a" });
  g.remove({ node: "zzz" });
  assert.equal(
    registry.render().split("\n").slice(2).join("\n"),
    'kedge_depth{node="b",kind="x"} 2\nkedge_depth{node="a"} 3\n',
  );
  g.set(4, { node: "a", kind: "x" });
  assert.match(registry.render(), /kedge_depth\{node="a"\} 3\nkedge_depth\{node="a",kind="x"\} 4\n$/);
});

Deno.test("labels() binds a child series: counts the same as inc/set with labels and survives remove()", () => {
  const registry = new Registry();
  const c = registry.counter("kedge_ops_total", "Ops.");
  const g = registry.gauge("kedge_level", "Level.");
  const labels = { operation: "insert" };
  const insert = c.labels(labels);
  labels.operation = "changed after binding";
  insert.inc();
  insert.inc(4);
  c.inc({ operation: "insert" });
  assert.equal(insert.get(), 6);
  assert.equal(c.get({ operation: "insert" }), 6);
  assert.throws(() => insert.inc(-1), RangeError);
  assert.match(registry.render(), /^kedge_ops_total\{operation="insert"\} 6$/m);
  c.remove({ operation: "insert" });
  assert.doesNotMatch(registry.render(), /operation="insert"/);
  insert.inc();
  assert.match(registry.render(), /^kedge_ops_total\{operation="insert"\} 1$/m);

  const level = g.labels({ node: "a" });
  level.set(5);
  level.add(2);
  g.add(1, { node: "a" });
  assert.equal(level.get(), 8);
  assert.match(registry.render(), /^kedge_level\{node="a"\} 8$/m);
  // A child bound to no labels is the unlabelled series.
  g.labels({}).set(9);
  assert.match(registry.render(), /^kedge_level 9$/m);
});
