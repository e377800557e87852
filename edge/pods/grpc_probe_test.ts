import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { decodeHealthResponse, encodeHealthRequest, grpcProbe } from "./grpc_probe.ts";

/** A real gRPC server with the health service: `statuses` maps a service name to its ServingStatus number. */
async function healthServer(statuses: Record<string, number>): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  server.addService({
    check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: Buffer) => v,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (v: Buffer) => v,
      responseDeserialize: (b: Buffer) => b,
    },
  }, {
    check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      const service = call.request.length > 2 ? call.request.subarray(2).toString("utf8") : "";
      const status = statuses[service];
      if (status === undefined) return done({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      done(null, Buffer.from([0x08, status]));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? reject(e) : resolve(p),
    )
  );
  return { port, close: () => server.forceShutdown() };
}

Deno.test("the gRPC health messages encode and decode as protobuf", () => {
  assert.deepEqual([...encodeHealthRequest("")], []);
  assert.deepEqual([...encodeHealthRequest("db")], [0x0a, 2, 0x64, 0x62]);
  assert.equal(decodeHealthResponse(Buffer.from([0x08, 0x01])), 1);
  assert.equal(decodeHealthResponse(Buffer.alloc(0)), 0);
  assert.throws(() => decodeHealthResponse(Buffer.from([0x12, 0x00])), /unexpected field tag 18/);
});

Deno.test("grpcProbe passes a SERVING service and fails NOT_SERVING, an unknown service and a closed port", async () => {
  const server = await healthServer({ "": 1, sick: 2 });
  try {
    assert.equal(await grpcProbe("127.0.0.1", server.port, "", 2_000), undefined);
    assert.equal(
      await grpcProbe("127.0.0.1", server.port, "sick", 2_000),
      'service unhealthy (responded with "NOT_SERVING")',
    );
    assert.match(
      (await grpcProbe("127.0.0.1", server.port, "other", 2_000))!,
      /^error: health rpc probe failed/,
    );
  } finally {
    server.close();
  }
  assert.match((await grpcProbe("127.0.0.1", server.port, "", 1_000))!, /^(error|timeout): /);
});
