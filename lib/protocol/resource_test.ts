import assert from "node:assert/strict";
import { isDns1123Label, isDns1123Subdomain } from "./names.ts";
import {
  buildDeviceResource,
  buildResource,
  buildTwinResource,
  formatResource,
  MAX_RESOURCE_LENGTH,
  type ParsedResource,
  parseResource,
  parseTwinResource,
} from "./resource.ts";

function parsed(resource: string): ParsedResource {
  const result = parseResource(resource);
  if (!result.ok) assert.fail(result.error.message);
  return result.value;
}

function rejected(resource: string): RangeError {
  const result = parseResource(resource);
  if (result.ok) assert.fail(`${JSON.stringify(resource)} parsed as ${JSON.stringify(result.value)}`);
  assert.ok(result.error instanceof RangeError);
  assert.match(result.error.message, /^Cannot parse resource /);
  return result.error;
}

function throwsRange(build: () => string, pattern: RegExp): void {
  assert.throws(
    build,
    (e: unknown) => e instanceof RangeError && pattern.test(e.message) && /^Cannot build/.test(e.message),
  );
}

Deno.test("parseResource reads the wire's object resources", () => {
  assert.deepEqual(parsed("default/pod/nginx"), {
    kind: "object",
    namespace: "default",
    type: "pod",
    name: "nginx",
  });
  assert.deepEqual(parsed("default/configmap/cm1"), {
    kind: "object",
    namespace: "default",
    type: "configmap",
    name: "cm1",
  });
  assert.deepEqual(parsed("default/nodepatch/edge-1"), {
    kind: "object",
    namespace: "default",
    type: "nodepatch",
    name: "edge-1",
  });
  assert.deepEqual(parsed("kube-node-lease/lease/edge-1"), {
    kind: "object",
    namespace: "kube-node-lease",
    type: "lease",
    name: "edge-1",
  });
  assert.deepEqual(parsed("default/podlist"), { kind: "object", namespace: "default", type: "podlist" });
});

Deno.test("parseResource reads namespace null as a cluster-scoped object", () => {
  assert.deepEqual(parsed("null/node/edge-1"), {
    kind: "object",
    namespace: null,
    type: "node",
    name: "edge-1",
  });
});

Deno.test("parseResource reads membership and device twin resources", () => {
  assert.deepEqual(parsed("membership"), { kind: "membership" });
  assert.deepEqual(parsed("membership/detail"), { kind: "membership", subresource: "detail" });
  assert.deepEqual(parsed("device/default/sensor-1/twin/edge_updated"), {
    kind: "twin",
    namespace: "default",
    name: "sensor-1",
    event: "edge_updated",
  });
  assert.deepEqual(parsed("device/default/sensor-1/state/update"), {
    kind: "device",
    namespace: "default",
    name: "sensor-1",
    subresource: "state/update",
  });
});

Deno.test("parseResource reads upstream cloudcore's node/<node>/ prefix", () => {
  assert.deepEqual(parsed("node/edge-1/default/pod/nginx"), {
    kind: "object",
    namespace: "default",
    type: "pod",
    name: "nginx",
    node: "edge-1",
  });
  assert.deepEqual(parsed("node/edge-1/membership"), { kind: "membership", node: "edge-1" });
  assert.equal(parsed("node/edge-1/device/ns/d/twin/edge_updated").node, "edge-1");
  // Three segments are an object in a namespace called "node", not a prefix.
  assert.deepEqual(parsed("node/pod/nginx"), {
    kind: "object",
    namespace: "node",
    type: "pod",
    name: "nginx",
  });
});

Deno.test("formatResource(parseResource(s)) gives back s for every valid form", () => {
  for (
    const s of [
      "default/pod/nginx",
      "default/configmap/cm1",
      "default/node/edge-1",
      "default/nodepatch/edge-1",
      "kube-node-lease/lease/edge-1",
      "default/podpatch/nginx",
      "null/persistentvolume/pv-1",
      "default/podlist",
      "membership",
      "membership/detail",
      "device/default/sensor-1/twin/edge_updated",
      "device/default/sensor-1/state/update",
      "node/edge-1/default/pod/nginx",
      "node/edge-1/membership",
      "node/pod/nginx",
    ]
  ) {
    assert.equal(formatResource(parsed(s)), s);
  }
});

Deno.test("buildResource writes <namespace>/<type>[/<name>] and null for cluster scope", () => {
  assert.equal(buildResource({ namespace: "default", type: "pod", name: "nginx" }), "default/pod/nginx");
  assert.equal(buildResource({ namespace: "default", type: "podlist" }), "default/podlist");
  assert.equal(buildResource({ namespace: null, type: "node", name: "edge-1" }), "null/node/edge-1");
  assert.equal(buildResource({ namespace: "null", type: "node", name: "edge-1" }), "null/node/edge-1");
  assert.equal(
    buildResource({ namespace: "default", type: "pod", name: "nginx", node: "edge-1" }),
    "node/edge-1/default/pod/nginx",
  );
});

Deno.test("buildTwinResource and buildDeviceResource write the device forms", () => {
  assert.equal(
    buildTwinResource({ namespace: "default", name: "sensor-1", event: "edge_updated" }),
    "device/default/sensor-1/twin/edge_updated",
  );
  assert.equal(
    buildDeviceResource({ namespace: "default", name: "sensor-1", subresource: "state/update" }),
    "device/default/sensor-1/state/update",
  );
});

Deno.test("building refuses names Kubernetes would refuse", () => {
  throwsRange(() => buildResource({ namespace: "default", type: "pod", name: "a/b" }), /./);
  throwsRange(() => buildResource({ namespace: "default", type: "pod", name: "Nginx" }), /name "Nginx"/);
  throwsRange(() => buildResource({ namespace: "default", type: "pod", name: "" }), /empty segment/);
  throwsRange(() => buildResource({ namespace: "x".repeat(64), type: "pod", name: "a" }), /namespace/);
  throwsRange(() => buildResource({ namespace: "default", type: "pod", name: "a".repeat(254) }), /name/);
  throwsRange(() => buildResource({ namespace: "default", type: "Pod" }), /type "Pod"/);
  throwsRange(
    () => buildTwinResource({ namespace: "default", name: "s", event: "Edge-Updated" }),
    /sub-resource/,
  );
});

Deno.test("building refuses a resource that would read back as another kind", () => {
  throwsRange(
    () => buildDeviceResource({ namespace: "ns", name: "d", subresource: "twin/edge_updated" }),
    /twin/,
  );
  throwsRange(
    () => buildResource({ namespace: "node", type: "x", name: "membership" }),
    /membership resource/,
  );
});

Deno.test("parseResource refuses malformed resource strings", () => {
  const bad = [
    "",
    "/",
    "pod",
    "node",
    "default//nginx",
    "default/pod/nginx/",
    "/default/pod/nginx",
    "Default/pod/nginx",
    "default/Pod/nginx",
    "default/pod/Nginx",
    "default/pod/-nginx",
    "default/pod/nginx/extra",
    "default/pod/ngi nx",
    `${"n".repeat(64)}/pod/a`,
    `default/pod/${"a".repeat(254)}`,
    "membership/Detail",
    "device/NS/d/twin/edge_updated",
    "device/ns/D/twin/edge_updated",
    "device/ns/d/twin/Edge",
    "node/EDGE/default/pod/x",
    "node/a/node/b/default/pod/x",
  ];
  for (const s of bad) rejected(s);
});

Deno.test("parseResource refuses a string longer than the limit before splitting it", () => {
  assert.match(rejected("a/".repeat(MAX_RESOURCE_LENGTH)).message, /longer than 4096/);
});

Deno.test("parseResource errors quote and shorten the input", () => {
  const error = rejected(`default/pod/${"X".repeat(300)}`);
  assert.ok(error.message.length < 400);
  assert.ok(error.message.includes('"default/pod/XXX'));
});

Deno.test("parseTwinResource accepts twin resources only", () => {
  const twin = parseTwinResource("node/e/device/ns/d/twin/cloud_updated");
  assert.ok(twin.ok);
  assert.equal(twin.value.event, "cloud_updated");
  assert.equal(twin.value.node, "e");
  const pod = parseTwinResource("default/pod/nginx");
  assert.equal(pod.ok, false);
  if (!pod.ok) assert.match(pod.error.message, /found a resource of kind object/);
});

Deno.test("DNS-1123 rules follow Kubernetes lengths and characters", () => {
  assert.equal(isDns1123Label("a".repeat(63)), true);
  assert.equal(isDns1123Label("a".repeat(64)), false);
  assert.equal(isDns1123Label("a.b"), false);
  assert.equal(isDns1123Label("a-"), false);
  assert.equal(isDns1123Subdomain("a.b-c.d"), true);
  assert.equal(
    isDns1123Subdomain(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`),
    true,
  );
  assert.equal(isDns1123Subdomain("a".repeat(254)), false);
  assert.equal(isDns1123Subdomain("a..b"), false);
  assert.equal(isDns1123Subdomain(".a"), false);
  assert.equal(isDns1123Subdomain("A"), false);
});
