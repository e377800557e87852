import assert from "node:assert/strict";
import { dmiSocketPath } from "./dmi_server.ts";

Deno.test("the DMI socket is dmi.sock in dmiSockPath, as KubeEdge reads it (default /etc/kubeedge, a .sock means its folder)", () => {
  assert.equal(dmiSocketPath(""), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/etc/kubeedge"), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/run/kubeedge/"), "/run/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/etc/kubeedge/dmi.sock"), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/var/lib/edge/old.sock"), "/var/lib/edge/dmi.sock");
});
