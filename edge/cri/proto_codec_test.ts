// The codec against protobufjs (what @grpc/proto-loader, and so grpc-js, used for the CRI before): bytes
// either one writes, the other reads to the same object, with the options the CRI client had.
import assert from "node:assert/strict";
import { fromJSON } from "@grpc/proto-loader";
import { CRI_PROTO } from "./proto.ts";
import { ProtoCodec } from "./proto_codec.ts";
import { protoToJson } from "./proto_json.ts";

const descriptor = protoToJson(CRI_PROTO);
const codec = new ProtoCodec(descriptor);
type Method = {
  requestSerialize(v: unknown): Uint8Array;
  requestDeserialize(b: Uint8Array): unknown;
  responseSerialize(v: unknown): Uint8Array;
  responseDeserialize(b: Uint8Array): unknown;
};
const loaded = fromJSON(descriptor as never, {
  longs: Number,
  enums: String,
  defaults: true,
}) as unknown as Record<
  string,
  Record<string, Method>
>;
const runtime = loaded["runtime.v1.RuntimeService"]!;

const createRequest = {
  podSandboxId: "sandbox-1",
  config: {
    metadata: { name: "app", attempt: 3 },
    image: { image: "busybox:1.36", annotations: { a: "b" } },
    command: ["sh", "-c"],
    args: ["echo hi", ""],
    workingDir: "/work",
    envs: [{ key: "A", value: "1" }, { key: "EMPTY", value: "" }],
    mounts: [{
      containerPath: "/data",
      hostPath: "/var/data",
      readonly: true,
      propagation: "PROPAGATION_HOST_TO_CONTAINER",
    }],
    labels: { "io.kubernetes.pod.name": "web", "k": "" },
    linux: {
      resources: {
        cpuShares: 2,
        memoryLimitInBytes: 6 * 2 ** 30,
        oomScoreAdj: -997,
        unified: { "memory.high": "max" },
      },
      securityContext: {
        privileged: false,
        runAsUser: { value: 0 },
        runAsGroup: { value: 2 ** 40 },
        supplementalGroups: [0, 1234, 2 ** 33],
        readonlyRootfs: true,
        maskedPaths: ["/proc/kcore"],
        namespaceOptions: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
      },
    },
    logPath: "app/3.log",
  },
};

Deno.test("encodes CRI requests that protobufjs decodes to the same object", () => {
  const bytes = codec.encode("CreateContainerRequest", createRequest);
  const theirs = runtime.CreateContainer!.requestDeserialize(bytes);
  const ours = codec.decode("CreateContainerRequest", bytes);
  assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));
  const config = (ours as typeof createRequest).config;
  assert.equal(config.linux.resources.oomScoreAdj, -997);
  assert.deepEqual(config.linux.securityContext.supplementalGroups, [0, 1234, 2 ** 33]);
  assert.equal(config.linux.securityContext.runAsUser.value, 0);
  assert.equal(config.linux.securityContext.runAsGroup.value, 2 ** 40);
  assert.equal(config.linux.securityContext.namespaceOptions.network, "NODE");
  assert.deepEqual(config.args, ["echo hi", ""]);
  assert.deepEqual(config.labels, { "io.kubernetes.pod.name": "web", "k": "" });
});

Deno.test("decodes CRI replies protobufjs encodes, with every default filled as proto-loader did", () => {
  const reply = {
    status: {
      id: "c1",
      metadata: { name: "app", attempt: 1 },
      state: "CONTAINER_EXITED",
      createdAt: 1_765_000_000_123_456_000,
      exitCode: -1,
      labels: { x: "y" },
      image: { image: "busybox" },
    },
  };
  const bytes = runtime.ContainerStatus!.responseSerialize(reply);
  const ours = codec.decode("ContainerStatusResponse", bytes);
  const theirs = runtime.ContainerStatus!.responseDeserialize(bytes);
  assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));
  const status = (ours as { status: Record<string, unknown> }).status;
  assert.equal(status.exitCode, -1);
  assert.equal(status.createdAt, 1_765_000_000_123_456_000);
  assert.equal(status.reason, "");
  assert.equal(status.startedAt, 0);
  assert.deepEqual(status.annotations, {});

  const empty = codec.decode<{ status: unknown }>("ContainerStatusResponse", new Uint8Array(0));
  assert.equal(empty.status, null);
  const exec = codec.decode<{ stdout: Uint8Array; exitCode: number }>(
    "ExecSyncResponse",
    runtime.ExecSync!.responseSerialize({ stdout: new TextEncoder().encode("out\n"), exitCode: 2 }),
  );
  assert.equal(new TextDecoder().decode(exec.stdout), "out\n");
  assert.equal(exec.exitCode, 2);
  const state = codec.decode<{ state: string }>("ContainerStatus", new Uint8Array(0));
  assert.equal(state.state, "CONTAINER_CREATED", "an absent enum is its zero value, by name");
});

Deno.test("skips unknown fields, reads unpacked repeated scalars, keeps an unknown enum number", () => {
  // ContainerStatus with field 99 (varint), field 98 (length), field 97 (fixed64), field 96 (fixed32),
  // then state = 7 (unknown to the subset).
  const bytes = new Uint8Array([
    0x98,
    0x06,
    0x01, // 99: varint 1
    0x92,
    0x06,
    0x02,
    0x41,
    0x42, // 98: "AB"
    0x89,
    0x06,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // 97: fixed64
    0x85,
    0x06,
    1,
    2,
    3,
    4, // 96: fixed32
    0x18,
    0x07, // 3: state 7
    0x0a,
    0x01,
    0x7a, // 1: id "z"
  ]);
  const status = codec.decode<{ id: string; state: unknown }>("ContainerStatus", bytes);
  assert.equal(status.id, "z");
  assert.equal(status.state, 7);
  // supplemental_groups (8) written unpacked, as an older encoder may.
  const unpacked = new Uint8Array([0x40, 0x05, 0x40, 0x06]);
  const ctx = codec.decode<{ supplementalGroups: number[] }>("LinuxContainerSecurityContext", unpacked);
  assert.deepEqual(ctx.supplementalGroups, [5, 6]);
});

Deno.test("refuses malformed bytes and values of the wrong kind with a clear error", () => {
  assert.throws(() => codec.decode("ContainerStatus", new Uint8Array([0x0a, 0x05, 0x41])), /past the end/);
  assert.throws(() => codec.decode("ContainerStatus", new Uint8Array([0x20, 0xff])), /truncated varint/);
  assert.throws(() => codec.decode("ContainerStatus", new Uint8Array([0x0a, 0x01, 0xff])), TypeError);
  assert.throws(() => codec.decode("ContainerStatus", new Uint8Array([0x0b])), /wire type 3/);
  assert.throws(
    () => codec.encode("ExecSyncRequest", { cmd: "ls" }),
    /ExecSyncRequest.cmd: an array expected/,
  );
  assert.throws(() => codec.encode("ExecSyncRequest", { timeout: 1.5 }), /an integer expected/);
  assert.throws(
    () => codec.encode("NamespaceOption", { network: "SOMETIMES" }),
    /SOMETIMES is not a NamespaceMode/,
  );
  assert.throws(() => codec.encode("NoSuchRequest", {}), /not in the descriptor/);
});
