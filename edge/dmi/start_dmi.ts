/**
 * DMI on edgecore, wired: the store's Device and DeviceModel objects and the registered mappers loaded, the
 * DeviceManagerService listening (loaded when a mapper first connects), every committed object change passed
 * to the mappers.
 *
 * ```ts
 * const dmi = await startDmi({ store, devices, config, log, registry });
 * await dmi.close();
 * ```
 */
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import type { EdgeCoreConfig } from "../config.ts";
import type { EdgeDevices } from "../devices/mod.ts";
import type { EdgeStore } from "../store/mod.ts";
import { DEFAULT_DMI_LIMITS, type DmiLimits, DmiManager } from "./dmi_manager.ts";
import { dmiSocketPath, listenDmiOnDemand } from "./dmi_socket.ts";
import { MapperTable } from "./mapper_table.ts";

export interface StartDmiOptions {
  readonly store: Pick<EdgeStore, "database" | "list">;
  readonly devices: Pick<EdgeDevices, "onDeviceObjects" | "twin">;
  readonly config: EdgeCoreConfig;
  readonly log: Logger;
  readonly registry: Registry;
  readonly limits?: Partial<DmiLimits>;
}

export interface Dmi {
  readonly socket: string;
  readonly manager: DmiManager;
  close(): Promise<void>;
}

export async function startDmi(options: StartDmiOptions): Promise<Dmi> {
  const log = options.log.child({ module: "dmi" });
  const twinConfig = options.config.modules.deviceTwin;
  const limits: DmiLimits = {
    ...DEFAULT_DMI_LIMITS,
    maxMessageBytes: twinConfig.dmiMaxMessageBytes,
    maxMappers: twinConfig.dmiMaxMappers,
    callTimeoutMs: twinConfig.dmiCallTimeoutMs,
    ...options.limits,
  };
  const calls = options.registry.counter(
    "kedge_edge_dmi_mapper_calls_total",
    "Calls edgecore made into mappers (DeviceMapperService), by method and result.",
  );
  const requests = options.registry.counter(
    "kedge_edge_dmi_requests_total",
    "Requests mappers made to edgecore (DeviceManagerService), by method and result.",
  );
  const mappers = options.registry.gauge("kedge_edge_dmi_mappers", "Mappers registered over DMI.");
  const manager = new DmiManager({
    table: new MapperTable(options.store.database),
    twin: () => options.devices.twin(),
    log,
    limits,
    onCall: (method, result) => calls.inc({ method, result }),
  });
  manager.start(options.store.list("device"), options.store.list("devicemodel"));
  mappers.set(manager.mappers);
  options.devices.onDeviceObjects((changes) => {
    // A model before the devices that use it; a removed model after the devices that used it.
    const models = changes.filter((c) => c.object.type === "devicemodel");
    for (const { op, object } of models) {
      if (op === "upsert") manager.modelChanged(op, object.key, object.value);
    }
    for (const { op, object } of changes) {
      if (object.type === "device") manager.deviceChanged(op, object.key, object.value);
    }
    for (const { op, object } of models) {
      if (op === "delete") manager.modelChanged(op, object.key, object.value);
    }
  });
  const server = await listenDmiOnDemand({
    socket: dmiSocketPath(twinConfig.dmiSockPath),
    manager,
    maxMessageBytes: limits.maxMessageBytes,
    log,
    onRequest: (method, result) => {
      requests.inc({ method, result });
      mappers.set(manager.mappers);
    },
  });
  return {
    socket: server.socket,
    manager,
    async close() {
      await server.close();
      manager.close();
    },
  };
}
