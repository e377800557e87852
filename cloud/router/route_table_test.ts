import assert from "node:assert/strict";
import { matchRulePath, parseRequestPath } from "./rest_path.ts";
import { RouteTable, subscriptionChanges } from "./route_table.ts";
import type { RuleEndpointObject, RuleObject } from "./rule_spec.ts";

const endpoint = (
  name: string,
  type: string,
  properties: Record<string, string> = {},
): RuleEndpointObject => ({
  metadata: { name, namespace: "default" },
  spec: { ruleEndpointType: type, properties },
});

const rule = (
  name: string,
  source: string,
  sourceResource: Record<string, string>,
  target: string,
  targetResource: Record<string, string>,
): RuleObject => ({
  metadata: { name, namespace: "default", resourceVersion: "1" },
  spec: { source, sourceResource, target, targetResource },
});

function table(): RouteTable {
  const t = new RouteTable();
  t.setEndpoint(endpoint("my-rest", "rest"));
  t.setEndpoint(endpoint("my-eventbus", "eventbus"));
  t.setEndpoint(endpoint("my-servicebus", "servicebus", { service_port: "6666" }));
  return t;
}

Deno.test("rest paths are /{node}/{namespace}/{path}; node and namespace must be names", () => {
  assert.deepEqual(parseRequestPath("/edge-1/default/a/b?x=1"), {
    node: "edge-1",
    namespace: "default",
    levels: ["a", "b"],
    query: "?x=1",
  });
  assert.deepEqual(parseRequestPath("/edge-1/default/a/")?.levels, ["a"]);
  assert.equal(parseRequestPath("/Edge_1/default/a"), undefined);
  assert.equal(parseRequestPath("/edge-1"), undefined);
  assert.equal(parseRequestPath("edge-1/default/a"), undefined);
});

Deno.test("a rule path matches whole levels; {name} matches any one level", () => {
  assert.deepEqual(matchRulePath("test", ["test", "a"])?.rest, ["a"]);
  assert.equal(matchRulePath("test", ["testing"]), undefined);
  assert.deepEqual(matchRulePath("dev/{id}/temp", ["dev", "7", "temp"])?.rest, []);
  assert.equal(matchRulePath("dev/{id}", ["dev"]), undefined);
});

Deno.test("KubeEdge's sample rules become the three routes; the longest rest path wins", () => {
  const t = table();
  t.setRule(rule("r1", "my-rest", { path: "/test" }, "my-eventbus", { topic: "test" }));
  t.setRule(rule("r2", "my-rest", { path: "/test/deep" }, "my-servicebus", { path: "/target" }));
  t.setRule(
    rule("r3", "my-eventbus", { topic: "up", node_name: "edge-1" }, "my-rest", {
      resource: "http://a.com/x",
    }),
  );
  assert.equal(t.routeCount, 3);
  const toBus = t.matchRest("default", ["test", "a", "b"], "?q=1");
  assert.equal(toBus?.route.kind, "rest->eventbus");
  assert.equal(toBus?.target, "test/a/b");
  const toService = t.matchRest("default", ["test", "deep", "x"], "?q=1");
  assert.equal(toService?.route.kind, "rest->servicebus");
  assert.equal(toService?.target, "/target/x?q=1");
  assert.equal(t.matchRest("other", ["test"], ""), undefined);
  assert.equal(t.matchUpload("edge-1", "default/up")[0]?.url, "http://a.com/x");
  assert.deepEqual(t.matchUpload("edge-2", "default/up"), []);
  assert.deepEqual([...t.subscriptions().get("edge-1")!], ["default/up"]);
});

Deno.test("a rule without its endpoints, or with bad resources, is not routed and says why", () => {
  const t = new RouteTable();
  t.setRule(rule("r1", "my-rest", { path: "/test" }, "my-eventbus", { topic: "test" }));
  const missing = t.resolved("default/r1");
  assert.ok(missing && !missing.ok);
  assert.match(missing.error, /source rule endpoint default\/my-rest does not exist/);
  t.setEndpoint(endpoint("my-rest", "rest"));
  t.setEndpoint(endpoint("my-eventbus", "eventbus"));
  assert.ok(t.resolved("default/r1")?.ok, "routed once its endpoints exist");
  t.setRule(rule("r2", "my-eventbus", { topic: "a/+", node_name: "edge-1" }, "my-rest", { resource: "x" }));
  const bad = t.resolved("default/r2");
  assert.ok(bad && !bad.ok);
  assert.match(bad.error, /without wildcards/);
  t.setEndpoint(endpoint("sb", "servicebus"));
  t.setRule(rule("r3", "my-rest", { path: "/s" }, "sb", { path: "/x" }));
  const noPort = t.resolved("default/r3");
  assert.ok(noPort && !noPort.ok);
  assert.match(noPort.error, /service_port/);
  t.setRule(rule("r4", "my-eventbus", { topic: "a", node_name: "edge-1" }, "my-eventbus", { topic: "b" }));
  const pair = t.resolved("default/r4");
  assert.ok(pair && !pair.ok);
  assert.match(pair.error, /eventbus->eventbus is not a route/);
  t.deleteEndpoint(endpoint("my-rest", "rest"));
  assert.equal(t.resolved("default/r1")?.ok, false, "unrouted when its endpoint goes");
});

Deno.test("subscription changes name what to subscribe and drop per node", () => {
  const before = new Map([["a", new Set(["default/x", "default/y"])]]);
  const after = new Map([["a", new Set(["default/y"])], ["b", new Set(["default/z"])]]);
  assert.deepEqual(subscriptionChanges(before, after), [
    { node: "a", subscribe: [], unsubscribe: ["default/x"] },
    { node: "b", subscribe: ["default/z"], unsubscribe: [] },
  ]);
});
