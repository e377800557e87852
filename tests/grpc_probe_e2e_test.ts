// gRPC probes in the edgecore that ships (the bundle, as bin/edgecore runs it), not only in the unit test of
// edge/pods/grpc_probe.ts: a dynamic import of the CommonJS grpc-js gave only `default` in the bundle, so every
// gRPC probe failed there and a healthy pod was restarted at each probe (conformance: `Probing container should
// *not* be restarted with a GRPC liveness probe`). A real grpc-js health server in this process answers
// SERVING; a host-network pod probing it must never restart, and one probing a closed port must.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { waitFor } from "./containerd/pod_helpers.ts";
import { freePort } from "./cluster/mod.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

async function servingHealthServer(): Promise<{ port: number; checks: () => number; close(): void }> {
  let checks = 0;
  const server = new grpc.Server();
  const raw = (v: Buffer) => v;
  server.addService({
    check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  }, {
    check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      checks++;
      done(null, Buffer.from([0x08, 1])); // SERVING
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "0.0.0.0:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return { port, checks: () => checks, close: () => server.forceShutdown() };
}

Deno.test("a gRPC liveness probe of the shipped edgecore: SERVING keeps the pod, a closed port restarts it", async () => {
  await using env = await startPodEdge("grpcprobe");
  const health = await servingHealthServer();
  try {
    const pod = (name: string, port: number) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: edge-1
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: "${env.rt.images.busybox}"
    command: ["sleep", "3600"]
    livenessProbe: {grpc: {port: ${port}}, initialDelaySeconds: 1, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 1}
`;
    await env.kubectl(["apply", "-f", "-"], pod("serving", health.port) + "---" + pod("closed", freePort()));
    const restarts = async (name: string) =>
      Number(
        await env.kubectl(["get", "pod", name, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"]),
      );
    await waitFor("closed restarted by its probe", async () => (await restarts("closed")) >= 1, 90_000, 500);
    await waitFor("a few Check calls", () => health.checks() >= 5, 30_000, 200);
    assert.equal(await restarts("serving"), 0, "SERVING must not restart the pod");
    const phase = await env.kubectl(["get", "pod", "serving", "-o", "jsonpath={.status.phase}"]);
    assert.equal(phase, "Running");
  } finally {
    health.close();
  }
});
