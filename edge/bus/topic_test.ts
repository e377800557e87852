import assert from "node:assert/strict";
import { isPublishTopic, isTopicFilter, isUpstreamTopic, parseDeviceTopic, topicMatches } from "./topic.ts";

Deno.test("topic filters match one level with + and the rest with #", () => {
  assert.ok(topicMatches("$hw/events/device/+/+/twin/update", "$hw/events/device/default/t1/twin/update"));
  assert.ok(!topicMatches("$hw/events/device/+/+/twin/update", "$hw/events/device/default/t1/twin/update/x"));
  assert.ok(topicMatches("a/#", "a"));
  assert.ok(topicMatches("a/#", "a/b/c"));
  assert.ok(!topicMatches("a/+", "a/b/c"));
  assert.ok(!topicMatches("a/b", "a"));
});

Deno.test("a leading wildcard never matches a $ topic", () => {
  assert.ok(!topicMatches("#", "$hw/events/upload/x"));
  assert.ok(!topicMatches("+/user/#", "$x/user/y"));
  assert.ok(topicMatches("+/user/#", "app/user/y"));
});

Deno.test("the three KubeEdge upload topic families go upstream and nothing else does", () => {
  assert.ok(isUpstreamTopic("SYS/dis/upload_records"));
  assert.ok(isUpstreamTopic("app1/user/temperature"));
  assert.ok(isUpstreamTopic("$hw/events/upload/x/y"));
  assert.ok(!isUpstreamTopic("$hw/events/device/default/t1/twin/update"));
  assert.ok(!isUpstreamTopic("a/b/user/x"));
});

Deno.test("device topics parse to namespace, name and the rest, and refuse bad names", () => {
  assert.deepEqual(parseDeviceTopic("$hw/events/device/default/t1/twin/update"), {
    namespace: "default",
    name: "t1",
    id: "default/t1",
    rest: "twin/update",
  });
  assert.equal(parseDeviceTopic("$hw/events/device/Default/t1/twin/update"), undefined);
  assert.equal(parseDeviceTopic("$hw/events/device/default/t1"), undefined);
});

Deno.test("publish topics refuse wildcards and filters refuse misplaced ones", () => {
  assert.ok(isPublishTopic("a/b"));
  assert.ok(!isPublishTopic("a/+"));
  assert.ok(!isPublishTopic(""));
  assert.ok(isTopicFilter("a/+/#"));
  assert.ok(!isTopicFilter("a/#/b"));
  assert.ok(!isTopicFilter("a/b+"));
});
