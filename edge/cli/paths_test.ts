import assert from "node:assert/strict";
import { joinFiles, underRoot } from "./paths.ts";

Deno.test("--root puts every path under the root, and keeps a path already inside it", () => {
  assert.equal(underRoot("/", "/etc/kubeedge/a"), "/etc/kubeedge/a");
  assert.equal(underRoot("/tmp/r", "/etc/kubeedge/a"), "/tmp/r/etc/kubeedge/a");
  assert.equal(underRoot("/tmp/r/", "/tmp/r/etc/a"), "/tmp/r/etc/a");
  assert.equal(underRoot("/tmp/r", "/tmp/rx/a"), "/tmp/r/tmp/rx/a");
});

Deno.test("join files: the KubeEdge defaults under the root, or one --cert-dir for the certificates", () => {
  assert.deepEqual(joinFiles({ root: "/r" }), {
    config: "/r/etc/kubeedge/config/edgecore.yaml",
    caFile: "/r/etc/kubeedge/ca/rootCA.crt",
    certFile: "/r/etc/kubeedge/certs/server.crt",
    keyFile: "/r/etc/kubeedge/certs/server.key",
    dataSource: "/r/var/lib/kubeedge/edgecore.db",
    unit: "/r/etc/systemd/system/edgecore.service",
  });
  assert.equal(joinFiles({ certDir: "/pki" }).caFile, "/pki/rootCA.crt");
});
