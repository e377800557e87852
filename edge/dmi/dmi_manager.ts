/**
 * The edge half of DMI (KubeEdge v1.23's dmiserver, dmiclient and dmicache): which mapper serves which
 * devices, and what each is told.
 * - A mapper registers (MapperRegister) with its protocol and its own socket; with `withData` it gets every
 *   Device of its protocol (spec.protocol.protocolName) and their DeviceModels. One mapper per protocol, as
 *   upstream: a new registration for a protocol replaces the old one (a restarted mapper).
 * - Every committed change of a Device or DeviceModel object (from the cloud, kept in the store) becomes
 *   the mapper's CreateDeviceModel / UpdateDeviceModel / RemoveDeviceModel and RegisterDevice / UpdateDevice
 *   / RemoveDevice, a model always before the first device that uses it.
 * - Mappers are remembered in the store; after an edgecore restart each is given its devices again.
 * - Reports (ReportDeviceStatus, ReportDeviceStates) go into the device twin, the same path as MQTT
 *   twin/update and state/update, so they reach Device.status through the same uplink.
 */
import { GRPC_STATUS } from "./status.ts";
import type { Logger } from "../../lib/log.ts";
import type { DeviceTwin } from "../twin/mod.ts";
import { modelIdOf, protocolOf, toPbDevice, toPbDeviceModel } from "./convert.ts";
import { MapperClient, type MapperMethod } from "./mapper_client.ts";
import type { MapperRecord, MapperTable } from "./mapper_table.ts";
import { DmiError, reportStates, reportStatus } from "./reports.ts";
import type {
  PbDevice,
  PbDeviceModel,
  PbMapperRegisterRequest,
  PbReportDeviceStatesRequest,
  PbReportDeviceStatusRequest,
} from "./types.ts";

export interface DmiLimits {
  /** Largest gRPC message edgecore accepts or sends, in bytes. Default 4 MiB (gRPC's default). */
  readonly maxMessageBytes: number;
  /** Mappers (protocols) at most; a registration beyond is refused. Default 64. */
  readonly maxMappers: number;
  /** Devices handed to mappers at most; beyond it a Device is kept in the store but not given. Default 10000. */
  readonly maxDevices: number;
  /** Deadline of each call into a mapper. Default 5 s. */
  readonly callTimeoutMs: number;
  /** Calls waiting per mapper; beyond it new ones are dropped. Default 10000. */
  readonly maxQueuedCalls: number;
}

export { DmiError };

export const DEFAULT_DMI_LIMITS: DmiLimits = {
  maxMessageBytes: 4 * 1024 * 1024,
  maxMappers: 64,
  maxDevices: 10_000,
  callTimeoutMs: 5_000,
  maxQueuedCalls: 10_000,
};

export interface DmiManagerOptions {
  readonly table: MapperTable;
  readonly twin: () => Promise<DeviceTwin | undefined>;
  readonly log: Logger;
  readonly limits: DmiLimits;
  readonly onCall?: (method: MapperMethod, result: string) => void;
}

interface Mapper {
  readonly record: MapperRecord;
  readonly client: MapperClient;
  /** Models this mapper was given. */
  readonly models: Set<string>;
}

const MAX_NAME = 253;
const decoder = new TextDecoder();

export class DmiManager {
  readonly #o: DmiManagerOptions;
  readonly #devices = new Map<string, unknown>();
  readonly #models = new Map<string, unknown>();
  readonly #mappers = new Map<string, Mapper>();

  constructor(options: DmiManagerOptions) {
    this.#o = options;
  }

  get mappers(): number {
    return this.#mappers.size;
  }

  /** Loads what the store holds and gives each remembered mapper its devices again. */
  start(
    devices: readonly { key: string; value: unknown }[],
    models: readonly { key: string; value: unknown }[],
  ) {
    for (const m of models) this.#models.set(idOfKey(m.key), m.value);
    for (const d of devices) this.#devices.set(idOfKey(d.key), d.value);
    for (const record of this.#o.table.all()) {
      const mapper = this.#connect(record);
      for (const [id, device] of this.#devices) {
        // Not GetDevice first: the mapper-framework's GetDevice panics (reflect on a pointer) and kills the
        // mapper; its RegisterDevice of a device it holds answers at once.
        if (protocolOf(device) === record.protocol) this.#give(mapper, id, device, "RegisterDevice");
      }
    }
  }

  deviceChanged(op: "upsert" | "delete", key: string, device: unknown): void {
    const id = idOfKey(key);
    const previous = this.#devices.get(id);
    if (op === "delete") {
      this.#devices.delete(id);
      const mapper = this.#mappers.get(protocolOf(previous ?? device));
      const [namespace = "", name = ""] = splitId(id);
      mapper?.client.call("RemoveDevice", { deviceName: name, deviceNamespace: namespace }, id);
      return;
    }
    if (!previous && this.#devices.size >= this.#o.limits.maxDevices) {
      this.#o.log.warn("dmi device not given to a mapper", { device: id, reason: "maxDevices" });
      return;
    }
    this.#devices.set(id, device);
    const before = previous === undefined ? undefined : this.#mappers.get(protocolOf(previous));
    const now = this.#mappers.get(protocolOf(device));
    if (before && before !== now) {
      const [namespace = "", name = ""] = splitId(id);
      before.client.call("RemoveDevice", { deviceName: name, deviceNamespace: namespace }, id);
    }
    if (now) this.#give(now, id, device, previous && before === now ? "UpdateDevice" : "RegisterDevice");
  }

  modelChanged(op: "upsert" | "delete", key: string, model: unknown): void {
    const id = idOfKey(key);
    if (op === "delete") {
      this.#models.delete(id);
      const [namespace = "", name = ""] = splitId(id);
      for (const mapper of this.#mappers.values()) {
        if (!mapper.models.delete(id)) continue;
        mapper.client.call("RemoveDeviceModel", { modelName: name, modelNamespace: namespace }, id);
      }
      return;
    }
    this.#models.set(id, model);
    for (const mapper of this.#mappers.values()) {
      if (mapper.models.has(id)) {
        mapper.client.call("UpdateDeviceModel", { model: toPbDeviceModel(model) }, id);
      }
    }
    // Devices that came before their model.
    for (const [deviceId, device] of this.#devices) {
      if (modelIdOf(device) !== id) continue;
      const mapper = this.#mappers.get(protocolOf(device));
      if (mapper && !mapper.models.has(id)) this.#give(mapper, deviceId, device, "RegisterDevice");
    }
  }

  /** MapperRegister: remembers the mapper and answers with its devices and their models when asked. */
  register(request: PbMapperRegisterRequest): { modelList: PbDeviceModel[]; deviceList: PbDevice[] } {
    const info = request.mapper;
    const protocol = info?.protocol ?? "";
    const name = info?.name ?? "";
    if (!info || protocol === "") {
      throw new DmiError(
        GRPC_STATUS.INVALID_ARGUMENT,
        `Cannot register mapper ${name}: its protocol is empty`,
      );
    }
    const socket = decoder.decode(info.address ?? new Uint8Array());
    if (!socket.startsWith("/") || socket.length > 107) {
      throw new DmiError(
        GRPC_STATUS.INVALID_ARGUMENT,
        `Cannot register mapper ${name}: address ${
          JSON.stringify(socket.slice(0, 120))
        } is not an absolute unix socket path`,
      );
    }
    if (name.length > MAX_NAME || protocol.length > MAX_NAME) {
      throw new DmiError(
        GRPC_STATUS.INVALID_ARGUMENT,
        `Cannot register mapper: name or protocol over ${MAX_NAME}`,
      );
    }
    if (!this.#mappers.has(protocol) && this.#mappers.size >= this.#o.limits.maxMappers) {
      throw new DmiError(
        GRPC_STATUS.RESOURCE_EXHAUSTED,
        `Cannot register mapper ${name}: ${this.#o.limits.maxMappers} mappers are registered already`,
      );
    }
    const record: MapperRecord = {
      protocol,
      name,
      socket,
      info: { version: info.version, apiVersion: info.apiVersion, state: info.state },
    };
    this.#o.table.put(record);
    const mapper = this.#connect(record);
    this.#o.log.info("dmi mapper registered", { name, protocol, socket, withData: request.withData });
    if (!request.withData) return { modelList: [], deviceList: [] };
    const deviceList: PbDevice[] = [];
    const modelList: PbDeviceModel[] = [];
    for (const [id, device] of this.#devices) {
      if (protocolOf(device) !== protocol) continue;
      const modelId = modelIdOf(device);
      const model = this.#models.get(modelId);
      if (model === undefined) continue; // given when its model comes
      try {
        deviceList.push(toPbDevice(device, model));
        if (!mapper.models.has(modelId)) modelList.push(toPbDeviceModel(model));
        mapper.models.add(modelId);
      } catch (error) {
        this.#o.log.warn("dmi device not given to a mapper", { device: id, why: (error as Error).message });
      }
    }
    return { modelList, deviceList };
  }

  /** ReportDeviceStatus: the twins' reported values into the device twin (reports.ts). */
  reportStatus(request: PbReportDeviceStatusRequest): Promise<void> {
    return reportStatus(this.#o.twin, request);
  }

  /** ReportDeviceStates: the device's state into the device twin (reports.ts). */
  reportStates(request: PbReportDeviceStatesRequest): Promise<void> {
    return reportStates(this.#o.twin, request);
  }

  close(): void {
    for (const mapper of this.#mappers.values()) mapper.client.close();
    this.#mappers.clear();
  }

  /** Resolves once every mapper's queued calls have finished (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.#mappers.values()].map((m) => m.client.idle()));
  }

  #connect(record: MapperRecord): Mapper {
    this.#mappers.get(record.protocol)?.client.close();
    const limits = this.#o.limits;
    const client = new MapperClient({
      protocol: record.protocol,
      socket: record.socket,
      callTimeoutMs: limits.callTimeoutMs,
      maxMessageBytes: limits.maxMessageBytes,
      maxQueued: limits.maxQueuedCalls,
      log: this.#o.log,
      onCall: this.#o.onCall,
    });
    const mapper: Mapper = { record, client, models: new Set() };
    this.#mappers.set(record.protocol, mapper);
    return mapper;
  }

  /** The device's model first (once per mapper), then the device. */
  #give(mapper: Mapper, id: string, device: unknown, method: "RegisterDevice" | "UpdateDevice"): void {
    const modelId = modelIdOf(device);
    const model = this.#models.get(modelId);
    if (model === undefined) {
      this.#o.log.info("dmi device waits for its model", { device: id, model: modelId });
      return;
    }
    let pb: PbDevice;
    try {
      pb = toPbDevice(device, model);
    } catch (error) {
      this.#o.log.warn("dmi device not given to a mapper", { device: id, why: (error as Error).message });
      return;
    }
    if (!mapper.models.has(modelId)) {
      mapper.models.add(modelId);
      mapper.client.call("CreateDeviceModel", { model: toPbDeviceModel(model) }, modelId);
    }
    mapper.client.call(method, { device: pb }, id);
  }
}

function idOfKey(key: string): string {
  const [namespace = "", , name = ""] = key.split("/");
  return `${namespace}/${name}`;
}

function splitId(id: string): [string, string] {
  const slash = id.indexOf("/");
  return [id.slice(0, slash), id.slice(slash + 1)];
}
