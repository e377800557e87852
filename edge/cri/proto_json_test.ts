import assert from "node:assert/strict";
import { CRI_PROTO } from "./proto.ts";
import { type JsonMessage, type JsonService, protoToJson } from "./proto_json.ts";

function v1(): Record<string, unknown> {
  const root = protoToJson(CRI_PROTO).nested.runtime as {
    nested: { v1: { nested: Record<string, unknown> } };
  };
  return root.nested.v1.nested;
}

Deno.test("CRI proto subset keeps upstream field numbers and camelCases names", () => {
  const types = v1();
  const config = types.ContainerConfig as JsonMessage;
  assert.deepEqual(config.fields.logPath, { type: "string", id: 11 });
  assert.deepEqual(config.fields.linux, { type: "LinuxContainerConfig", id: 15 });
  assert.deepEqual(config.fields.labels, { type: "string", id: 9, keyType: "string" });
  assert.deepEqual(config.fields.envs, { type: "KeyValue", id: 6, rule: "repeated" });
  assert.deepEqual((types.ContainerStatus as JsonMessage).fields.imageId, { type: "string", id: 17 });
  assert.deepEqual((types.LinuxContainerSecurityContext as JsonMessage).fields.runAsGroup, {
    type: "Int64Value",
    id: 12,
  });
  const runtime = types.RuntimeService as JsonService;
  assert.deepEqual(runtime.methods.ExecSync, {
    requestType: "ExecSyncRequest",
    responseType: "ExecSyncResponse",
    comment: "",
  });
});

Deno.test("proto parser rejects a field it cannot read", () => {
  assert.throws(
    () => protoToJson("package a; message M { string x; }"),
    /Cannot parse proto: bad field in M/,
  );
  assert.throws(() => protoToJson("message M {}"), /no package/);
});
