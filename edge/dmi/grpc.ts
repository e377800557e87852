/**
 * The DMI services loaded for grpc-js from the embedded proto text: the DeviceManagerService definition
 * edgecore serves, and a DeviceMapperService client constructor for calling mappers. Only dynamic imports
 * reach this module, so grpc-js and protobufjs load when DMI is first used (dmi_socket.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import { type ProtoJson, protoToJson } from "../cri/mod.ts";
import { DMI_PROTO, WELL_KNOWN_PROTO } from "./proto.ts";

export { grpc };

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (error: grpc.ServiceError | null, reply?: unknown) => void,
) => void;
export type MapperGrpcClient = grpc.Client & Record<string, Unary>;
export type MapperClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options: object,
) => MapperGrpcClient;

interface Dmi {
  manager: grpc.ServiceDefinition;
  Mapper: MapperClientCtor;
}
let loaded: Dmi | undefined;

export function dmiServices(): Dmi {
  if (loaded) return loaded;
  const dmi = protoToJson(DMI_PROTO);
  const google = protoToJson(WELL_KNOWN_PROTO);
  const json: ProtoJson = { nested: { ...dmi.nested, ...google.nested } };
  const definition = fromJSON(json, { longs: Number, enums: String, defaults: true });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    v1beta1: {
      DeviceManagerService: { service: grpc.ServiceDefinition };
      DeviceMapperService: MapperClientCtor;
    };
  };
  loaded = { manager: root.v1beta1.DeviceManagerService.service, Mapper: root.v1beta1.DeviceMapperService };
  return loaded;
}
