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

const withSysctls = (names: string[], hostNetwork = false) =>
  parsePod({
    metadata: { name: "p" },
    spec: {
      hostNetwork,
      containers: [{ name: "c", image: "busybox" }],
      securityContext: { sysctls: names.map((name) => ({ name, value: "1" })) },
    },
  });

Deno.test("safe sysctls are admitted; unsafe ones unless the node allows them, as SysctlForbidden", () => {
  assert.equal(
    admissionRejection(withSysctls(["kernel.shm_rmid_forced", "net.ipv4.tcp_syncookies"])),
    undefined,
  );
  assert.deepEqual(admissionRejection(withSysctls(["kernel.shm_rmid_forced", "kernel.msgmax"]), "linux"), {
    reason: "SysctlForbidden",
    message: 'forbidden sysctl: "kernel.msgmax" not allowlisted',
  });
  assert.equal(admissionRejection(withSysctls(["kernel.msgmax"]), "linux", ["kernel.msg*"]), undefined);
  assert.equal(
    admissionRejection(withSysctls(["net/ipv4/ip_forward"]), "linux", ["net.ipv4.ip_forward"]),
    undefined,
  );
});

Deno.test("a net sysctl is refused with hostNetwork: it would set the node's own", () => {
  assert.equal(
    admissionRejection(withSysctls(["net.ipv4.ip_local_port_range"], true))?.message,
    'forbidden sysctl: "net.ipv4.ip_local_port_range" not allowed with host net enabled',
  );
});
