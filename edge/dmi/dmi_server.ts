/**
 * edgecore's DeviceManagerService (DMI v1beta1) over grpc-js, where mappers register and report, on the
 * socket dmi_socket.ts gives it (which loads this module when a mapper first connects). Messages over
 * `maxMessageBytes` are refused by grpc-js with RESOURCE_EXHAUSTED and a body that is not protobuf with
 * INTERNAL; neither touches the store, and other mappers go on.
 */
import type { Logger } from "../../lib/log.ts";
import { DmiError, type DmiManager } from "./dmi_manager.ts";
import { dmiServices, grpc } from "./grpc.ts";
import { grpcStatusName } from "./status.ts";

export interface DmiServer {
  readonly socket: string;
  close(): Promise<void>;
}

export interface DmiServerOptions {
  readonly socket: string;
  readonly manager: DmiManager;
  readonly maxMessageBytes: number;
  readonly log: Logger;
  /** Every handled request, by method and result (ok or a gRPC status name). */
  readonly onRequest?: (method: string, result: string) => void;
}

export async function startDmiServer(options: DmiServerOptions): Promise<DmiServer> {
  const { manager, log, socket } = options;
  await Deno.remove(socket).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    "grpc.max_concurrent_streams": 100,
  });
  const unary = <Req, Res>(
    method: string,
    handle: (request: Req) => Promise<Res> | Res,
  ): grpc.handleUnaryCall<Req, Res> =>
  async (call, callback) => {
    try {
      const reply = await handle(call.request);
      options.onRequest?.(method, "ok");
      callback(null, reply);
    } catch (error) {
      const code = error instanceof DmiError ? error.code : grpc.status.INTERNAL;
      const message = error instanceof DmiError
        ? error.message
        : `Cannot ${method}: ${(error as Error).message}`;
      if (code === grpc.status.INTERNAL) log.error("dmi request failed", { method, error });
      else log.info("dmi request refused", { method, status: grpcStatusName(code), reason: message });
      options.onRequest?.(method, grpcStatusName(code));
      callback({ code, details: message });
    }
  };
  server.addService(dmiServices().manager, {
    MapperRegister: unary(
      "MapperRegister",
      (r: Parameters<DmiManager["register"]>[0]) => manager.register(r),
    ),
    ReportDeviceStatus: unary("ReportDeviceStatus", async (r: Parameters<DmiManager["reportStatus"]>[0]) => {
      await manager.reportStatus(r);
      return {};
    }),
    ReportDeviceStates: unary("ReportDeviceStates", async (r: Parameters<DmiManager["reportStates"]>[0]) => {
      await manager.reportStates(r);
      return {};
    }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `unix://${socket}`,
      grpc.ServerCredentials.createInsecure(),
      (error) =>
        error
          ? reject(new Error(`Cannot serve DMI on ${socket}: ${error.message}`, { cause: error }))
          : resolve(),
    )
  );
  return {
    socket,
    async close() {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await Deno.remove(socket).catch(() => {});
    },
  };
}
