import assert from "node:assert/strict";
import { admissionRejection } from "./admission.ts";
import { parsePod } from "./pod_schema.ts";

const pod = (extra: { os?: string; label?: string }) =>
  parsePod({
    metadata: { name: "p", ...(extra.label ? { labels: { "kubernetes.io/os": extra.label } } : {}) },
    spec: { containers: [{ name: "c", image: "busybox" }], ...(extra.os ? { os: { name: extra.os } } : {}) },
  });

Deno.test("a pod whose spec.os is not the node's is refused as PodOSNotSupported", () => {
  assert.deepEqual(admissionRejection(pod({ os: "windows" }), "linux"), {
    reason: "PodOSNotSupported",
    message: "Failed to admit pod as the OS field doesn't match node OS",
  });
  assert.equal(admissionRejection(pod({ os: "linux" }), "linux"), undefined);
});

Deno.test("a pod labelled for another OS is refused as PodOSSelectorNodeLabelDoesNotMatch, first", () => {
  assert.equal(
    admissionRejection(pod({ label: "windows", os: "windows" }), "linux")?.reason,
    "PodOSSelectorNodeLabelDoesNotMatch",
  );
  assert.equal(admissionRejection(pod({ label: "linux" }), "linux"), undefined);
});

Deno.test("a pod that names no OS is admitted", () => {
  assert.equal(admissionRejection(pod({}), "linux"), undefined);
});
