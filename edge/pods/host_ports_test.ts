import assert from "node:assert/strict";
import { admissionRejection } from "./admission.ts";
import { hostPortsOf, hostPortTaken } from "./host_ports.ts";
import { parsePod } from "./pod_schema.ts";

type Port = { hostPort: number; hostIP?: string; protocol?: "TCP" | "UDP" };
const pod = (ports: Port[], init: { sidecar: boolean; ports: Port[] }[] = []) =>
  parsePod({
    metadata: { name: "p" },
    spec: {
      initContainers: init.map((c, i) => ({
        name: `init-${i}`,
        image: "busybox",
        ...(c.sidecar ? { restartPolicy: "Always" } : {}),
        ports: c.ports.map((p) => ({ containerPort: 80, ...p })),
      })),
      containers: [{ name: "c", image: "busybox", ports: ports.map((p) => ({ containerPort: 80, ...p })) }],
    },
  });

Deno.test("host ports conflict per protocol and port, on the same IP or where either side holds every IP", () => {
  const held = [pod([{ hostPort: 8080, hostIP: "127.0.0.1" }])];
  assert.equal(hostPortTaken(pod([{ hostPort: 8080 }]), held), true, "0.0.0.0 wants 127.0.0.1's port too");
  assert.equal(hostPortTaken(pod([{ hostPort: 8080, hostIP: "127.0.0.1" }]), held), true);
  assert.equal(hostPortTaken(pod([{ hostPort: 8080, hostIP: "10.0.0.1" }]), held), false, "another IP");
  assert.equal(hostPortTaken(pod([{ hostPort: 8080, protocol: "UDP" }]), held), false, "another protocol");
  assert.equal(hostPortTaken(pod([{ hostPort: 8081 }]), held), false, "another port");
  const everywhere = [pod([{ hostPort: 8080, hostIP: "0.0.0.0" }])];
  assert.equal(hostPortTaken(pod([{ hostPort: 8080, hostIP: "10.0.0.1" }]), everywhere), true);
  assert.equal(hostPortTaken(pod([]), everywhere), false, "a pod without host ports never conflicts");
});

Deno.test("a sidecar's host ports are held, a regular init container's are not", () => {
  const withInit = pod([], [{ sidecar: false, ports: [{ hostPort: 9000 }] }, {
    sidecar: true,
    ports: [{ hostPort: 9001 }],
  }]);
  assert.deepEqual(hostPortsOf(withInit), [{ ip: "0.0.0.0", protocol: "TCP", port: 9001 }]);
});

Deno.test("admission refuses a taken host port with the kubelet's NodePorts reason and message", () => {
  const held = [pod([{ hostPort: 8080 }])];
  assert.deepEqual(admissionRejection(pod([{ hostPort: 8080 }]), "linux", [], held), {
    reason: "NodePorts",
    message: "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
  });
  assert.equal(admissionRejection(pod([{ hostPort: 8080 }]), "linux", [], []), undefined);
});
