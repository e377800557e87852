/**
 * edgecore's calls into one mapper's DeviceMapperService, on the unix socket the mapper gave in
 * MapperRegister (MapperInfo.address). Calls to one mapper go one at a time, in order (a model before the
 * devices that use it, a register before an update), each with a deadline; a mapper that never answers
 * holds up only its own queue, which is bounded: beyond `maxQueued` new calls are dropped and counted (the
 * mapper's next registration gives it everything again). grpc-js is loaded with the first call.
 */
import type { Logger } from "../../lib/log.ts";
import type { MapperGrpcClient } from "./grpc.ts";
import { GRPC_STATUS, grpcStatusName } from "./status.ts";

export type MapperMethod =
  | "RegisterDevice"
  | "RemoveDevice"
  | "UpdateDevice"
  | "CreateDeviceModel"
  | "RemoveDeviceModel"
  | "UpdateDeviceModel"
  | "GetDevice";

export interface MapperClientOptions {
  readonly protocol: string;
  /** The mapper's socket path (MapperInfo.address). */
  readonly socket: string;
  readonly callTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxQueued: number;
  readonly log: Logger;
  /** Every finished call, by method and result (ok, a gRPC status name, dropped). */
  readonly onCall?: (method: MapperMethod, result: string) => void;
}

export class MapperClient {
  readonly protocol: string;
  readonly socket: string;
  readonly #o: MapperClientOptions;
  #client: Promise<MapperGrpcClient> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #closed = false;

  constructor(options: MapperClientOptions) {
    this.#o = options;
    this.protocol = options.protocol;
    this.socket = options.socket;
  }

  #connect(): Promise<MapperGrpcClient> {
    return this.#client ??= import("./grpc.ts").then(({ dmiServices, grpc }) =>
      new (dmiServices().Mapper)(`unix://${this.socket}`, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": this.#o.maxMessageBytes,
        "grpc.max_send_message_length": this.#o.maxMessageBytes,
        "grpc.enable_retries": 0,
        // A restarted mapper is dialled again soon, not after grpc's default backoff of up to two minutes.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
      })
    );
  }

  /** Queues a call; resolves with the reply, or undefined when it failed (logged and counted here). */
  call(method: MapperMethod, request: unknown, what: string): Promise<unknown> {
    if (this.#closed) return Promise.resolve(undefined);
    if (this.#queued >= this.#o.maxQueued) {
      this.#o.log.warn("dmi call dropped", { protocol: this.protocol, method, what, reason: "maxQueued" });
      this.#o.onCall?.(method, "dropped");
      return Promise.resolve(undefined);
    }
    this.#queued++;
    const run = this.#tail.then(() => this.#invoke(method, request, what)).finally(() => this.#queued--);
    this.#tail = run;
    return run;
  }

  /** Resolves once every queued call has finished. */
  idle(): Promise<void> {
    return this.#tail.then(() => {});
  }

  close(): void {
    this.#closed = true;
    this.#client?.then((client) => client.close(), () => {});
  }

  async #invoke(method: MapperMethod, request: unknown, what: string): Promise<unknown> {
    const timeout = this.#o.callTimeoutMs;
    const { grpc } = await import("./grpc.ts");
    const client = await this.#connect();
    return new Promise((resolve) => {
      const fn = client[method];
      if (!fn || this.#closed) return resolve(undefined);
      fn.call(
        client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeout },
        (error, reply) => {
          if (!error) {
            this.#o.onCall?.(method, "ok");
            this.#o.log.debug("dmi call done", { protocol: this.protocol, method, what });
            return resolve(reply);
          }
          const status = grpcStatusName(error.code);
          this.#o.onCall?.(method, status);
          this.#o.log.warn("dmi call failed", {
            protocol: this.protocol,
            socket: this.socket,
            method,
            what,
            status,
            error: error.code === GRPC_STATUS.DEADLINE_EXCEEDED
              ? `Cannot call ${method}: the mapper did not answer within ${timeout} ms`
              : `Cannot call ${method}: ${error.details || error.message}`,
          });
          resolve(undefined);
        },
      );
    });
  }
}
