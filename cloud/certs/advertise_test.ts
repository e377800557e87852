import assert from "node:assert/strict";
import { interfaceAddresses, resolveAdvertiseAddresses } from "./advertise.ts";

function nic(address: string, family: "IPv4" | "IPv6"): Deno.NetworkInterfaceInfo {
  return { family, name: "eth0", address, netmask: "", scopeid: null, cidr: `${address}/8`, mac: "" };
}

Deno.test("interface addresses leave out loopback and link-local", () => {
  const list = () => [
    nic("127.0.0.1", "IPv4"),
    nic("10.1.2.3", "IPv4"),
    nic("169.254.1.1", "IPv4"),
    nic("::1", "IPv6"),
    nic("fe80::1", "IPv6"),
    nic("2001:db8::5", "IPv6"),
  ];
  assert.deepEqual(interfaceAddresses(list), ["10.1.2.3", "2001:db8::5"]);
});

Deno.test("configured advertise addresses win over interfaces", () => {
  assert.deepEqual(resolveAdvertiseAddresses(["192.0.2.1"], [], () => [nic("10.0.0.1", "IPv4")]), [
    "192.0.2.1",
  ]);
});

Deno.test("no advertise address, no DNS name and only loopback fails with a clear error", () => {
  assert.throws(
    () => resolveAdvertiseAddresses([], [], () => [nic("127.0.0.1", "IPv4")]),
    /Cannot start cloudcore: no advertise address/,
  );
  assert.deepEqual(resolveAdvertiseAddresses([], ["cloud.example"], () => []), []);
});
