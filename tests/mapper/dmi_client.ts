/**
 * A test's own client of edgecore's DeviceManagerService, to play a misbehaving mapper: calls with the
 * embedded DMI proto, and raw bytes that are not protobuf. Each call resolves with the gRPC error, or
 * undefined on success.
 */
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { protoToJson } from "../../edge/cri/mod.ts";
import { DMI_PROTO, WELL_KNOWN_PROTO } from "../../edge/dmi/mod.ts";

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  o: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null) => void,
) => void;

export interface DmiTestClient {
  register(request: unknown): Promise<grpc.ServiceError | undefined>;
  reportStatus(request: unknown): Promise<grpc.ServiceError | undefined>;
  reportStates(request: unknown): Promise<grpc.ServiceError | undefined>;
  raw(path: string, body: Uint8Array): Promise<grpc.ServiceError | undefined>;
  close(): void;
}

export function dmiServicesForTests(socket: string): DmiTestClient {
  const json = { nested: { ...protoToJson(DMI_PROTO).nested, ...protoToJson(WELL_KNOWN_PROTO).nested } };
  const root = grpc.loadPackageDefinition(fromJSON(json, { longs: Number, defaults: true })) as unknown as {
    v1beta1: { DeviceManagerService: new (a: string, c: grpc.ChannelCredentials, o: object) => grpc.Client };
  };
  const options = {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  };
  const client = new root.v1beta1.DeviceManagerService(
    `unix://${socket}`,
    grpc.credentials.createInsecure(),
    options,
  ) as
    & grpc.Client
    & Record<string, Unary>;
  const call = (method: string, request: unknown) =>
    new Promise<grpc.ServiceError | undefined>((resolve) =>
      client[method]!.call(
        client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (e) => resolve(e ?? undefined),
      )
    );
  return {
    register: (r) => call("MapperRegister", r),
    reportStatus: (r) => call("ReportDeviceStatus", r),
    reportStates: (r) => call("ReportDeviceStates", r),
    raw: (path, body) =>
      new Promise((resolve) =>
        client.makeUnaryRequest(
          path,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => b,
          body,
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (e) => resolve(e ?? undefined),
        )
      ),
    close: () => client.close(),
  };
}
