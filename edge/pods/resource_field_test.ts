import assert from "node:assert/strict";
import type { PodContext } from "./field_ref.ts";
import type { ContainerSpec, Pod } from "./pod_schema.ts";
import { containerNamed, resourceFieldValue } from "./resource_field.ts";

const limited = {
  name: "app",
  image: "busybox",
  resources: { limits: { cpu: "1250m", memory: "64Mi" }, requests: { cpu: "250m", memory: "32Mi" } },
} as unknown as ContainerSpec;
const open = { name: "side", image: "busybox" } as unknown as ContainerSpec;
const ctx = {
  pod: { metadata: { name: "p" }, spec: { containers: [limited, open] } } as unknown as Pod,
  uid: "u",
  namespace: "default",
  nodeName: "edge-1",
  hostIP: "192.0.2.2",
  podIP: "",
  allocatable: { cpu: "2", memory: "4041712Ki" },
} satisfies PodContext;

Deno.test("resource fields as the kubelet gives them: divided by the divisor and rounded up", () => {
  const value = (resource: string, divisor?: string) =>
    resourceFieldValue(ctx, limited, { resource, divisor });
  assert.equal(value("limits.cpu"), "2", "1.25 cores round up to 2");
  assert.equal(value("limits.cpu", "1m"), "1250");
  assert.equal(value("requests.cpu", "1m"), "250");
  assert.equal(value("limits.memory"), String(64 * 2 ** 20));
  assert.equal(value("limits.memory", "1Mi"), "64");
  assert.equal(value("requests.memory", "1Mi"), "32");
  assert.equal(value("limits.cpu", "0"), "2", "the apiserver's default divisor 0 counts as 1");
});

Deno.test("a limit the container does not set is the node's allocatable; an unset request is 0", () => {
  assert.equal(resourceFieldValue(ctx, open, { resource: "limits.cpu" }), "2");
  assert.equal(resourceFieldValue(ctx, open, { resource: "limits.memory", divisor: "1Ki" }), "4041712");
  assert.equal(resourceFieldValue(ctx, open, { resource: "requests.memory" }), "0");
  assert.throws(
    () => resourceFieldValue(ctx, open, { resource: "status.cpu" }),
    /not limits\.\* or requests\.\*/,
  );
});

Deno.test("a volume item's containerName picks the container; none picks the first", () => {
  assert.equal(containerNamed(ctx, "side"), open);
  assert.equal(containerNamed(ctx, undefined), limited);
  assert.throws(() => containerNamed(ctx, "nope"), /no container named "nope"/);
});
