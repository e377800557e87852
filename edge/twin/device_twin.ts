/**
 * DeviceTwin: KubeEdge's device twin on the EventBus. Mappers and apps publish twin updates, gets, state
 * updates and membership gets; the cloud side (wired later) calls applyMembership and applyDesired, gets
 * reported values through onReport, and after a reconnect re-sends pendingReports() and acks them.
 * Every request is answered on `<topic>/result`; a bad one gets `{event_id, timestamp, code, reason}` and
 * changes nothing. Requests are handled one at a time, in arrival order.
 */
import * as v from "valibot";
import type { Logger } from "../../lib/log.ts";
import { buildTwinResource, TWIN_EDGE_UPDATED } from "../../lib/protocol/mod.ts";
import { deviceTopic, type EventBus, nodeTopic, parseDeviceTopic } from "../bus/mod.ts";
import { deltaOf, type Merged, mergeDesired, mergeFromBox, typeProblem } from "./merge.ts";
import { readRequest, RequestError } from "./request.ts";
import { TwinStore } from "./twin_store.ts";
import {
  CODE_BAD_REQUEST,
  CODE_INTERNAL,
  CODE_NOT_FOUND,
  type DeviceInfo,
  type DeviceSpec,
  type DeviceState,
  type ErrorResult,
  GetRequestSchema,
  StateUpdateSchema,
  type TwinReport,
  type Twins,
  twinsSchema,
  twinUpdateSchema,
} from "./types.ts";
import type { DatabaseSync } from "node:sqlite";

export interface TwinLimits {
  /** Largest request payload in bytes; a bigger one is answered with code 413. */
  readonly maxPayloadBytes: number;
  /** Properties one device may have. */
  readonly maxTwinsPerDevice: number;
  /** Requests waiting to be handled; beyond it new ones are dropped. */
  readonly maxPendingRequests: number;
}

export const DEFAULT_TWIN_LIMITS: TwinLimits = {
  maxPayloadBytes: 64 * 1024,
  maxTwinsPerDevice: 256,
  maxPendingRequests: 1000,
};

export interface DeviceTwinOptions {
  /** The edge store's connection (`EdgeStore.database`). */
  readonly database: DatabaseSync;
  readonly bus: Pick<EventBus, "subscribe" | "publish">;
  /** This node's name, for `$hw/events/node/<node>/membership/...`. */
  readonly node: string;
  readonly log: Logger;
  /** Called after reported (actual) values are committed; deliver to the cloud, then ackReport. */
  readonly onReport?: (report: TwinReport) => void;
  /** Called after a device's state is committed. */
  readonly onState?: (deviceId: string, state: DeviceState, lastOnline: string) => void;
  readonly limits?: Partial<TwinLimits>;
  readonly now?: () => number;
}

export interface DeviceTwin {
  /** Devices added to (or changed on) and removed from this node; publishes membership/updated. */
  applyMembership(added: readonly DeviceSpec[], removed: readonly string[]): Promise<void>;
  /** The cloud's desired values for a device; publishes update/document and update/delta. */
  applyDesired(deviceId: string, twins: Twins): Promise<void>;
  /** Reported values the cloud has not acknowledged, the latest per device and property. */
  pendingReports(): TwinReport[];
  /** The cloud has `report`; its values are forgotten unless newer ones came meanwhile. */
  ackReport(report: TwinReport): void;
  /**
   * Reported values from a mapper (DMI ReportDeviceStatus): the same path as an MQTT twin/update, with its
   * checks; publishes update/document and update/delta. Throws RequestError (code 400, 404) when refused.
   */
  reportFromMapper(deviceId: string, twins: Twins): Promise<void>;
  /** A device state from a mapper (DMI ReportDeviceStates). Throws RequestError when refused. */
  stateFromMapper(deviceId: string, state: DeviceState): Promise<void>;
  devices(): DeviceInfo[];
  twins(deviceId: string): Twins | undefined;
  close(): Promise<void>;
}

function splitDeviceId(id: string): { namespace: string; name: string } {
  const slash = id.indexOf("/");
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

export async function startDeviceTwin(options: DeviceTwinOptions): Promise<DeviceTwin> {
  const limits = { ...DEFAULT_TWIN_LIMITS, ...options.limits };
  const log = options.log.child({ module: "devicetwin" });
  const now = options.now ?? Date.now;
  const store = new TwinStore(options.database);
  const updateSchema = twinUpdateSchema(limits.maxTwinsPerDevice);
  const desiredSchema = twinsSchema(limits.maxTwinsPerDevice);
  let queue = Promise.resolve();
  let pending = 0;

  const publish = async (topic: string, body: unknown) => {
    try {
      await options.bus.publish(topic, JSON.stringify(body));
    } catch (error) {
      log.warn("twin publish failed", { topic, error });
    }
  };
  const meta = (eventId?: string) => ({ event_id: eventId ?? crypto.randomUUID(), timestamp: now() });

  const read = <S extends v.GenericSchema>(schema: S, payload: Uint8Array, what: string) =>
    readRequest(schema, payload, what, limits.maxPayloadBytes);
  const knownDevice = (id: string, what: string) => {
    const row = store.device(id);
    if (!row) {
      throw new RequestError(CODE_NOT_FOUND, `Cannot ${what}: device ${id} is not a member of this node`);
    }
    return row;
  };
  /** Publishes what a committed merge means for apps and mappers. */
  const announce = async (namespace: string, name: string, merged: Merged, eventId?: string) => {
    const all = store.twins(`${namespace}/${name}`);
    await publish(deviceTopic(namespace, name, "twin/update/document"), {
      ...meta(eventId),
      twin: merged.document,
    });
    const delta = deltaOf(all);
    if (Object.keys(delta).length > 0) {
      await publish(deviceTopic(namespace, name, "twin/update/delta"), {
        ...meta(eventId),
        twin: all,
        delta,
      });
    }
  };
  const report = (
    namespace: string,
    name: string,
    twin: Twins,
    seq: number,
    eventId?: string,
  ): TwinReport => ({
    deviceId: `${namespace}/${name}`,
    namespace,
    name,
    resource: buildTwinResource({ namespace, name, event: TWIN_EDGE_UPDATED }),
    content: { ...meta(eventId), twin },
    seq,
  });

  // The values are committed and stay pending until acked, so a failing callback loses nothing.
  const deliverReport = (pending: TwinReport) => {
    try {
      options.onReport?.(pending);
    } catch (error) {
      log.error("twin report handler failed", { device: pending.deviceId, error });
    }
  };

  /** A box-side twin update (MQTT twin/update or a mapper's DMI report): checked, committed, reported. */
  const updateFromBox = (namespace: string, name: string, twin: Twins, eventId?: string): Merged => {
    const id = `${namespace}/${name}`;
    knownDevice(id, "update twin");
    const stored = store.twins(id);
    const problem = typeProblem(stored, twin);
    if (problem) throw new RequestError(CODE_BAD_REQUEST, `Cannot update twin: ${problem}`);
    const total = new Set([...Object.keys(stored), ...Object.keys(twin)]).size;
    if (total > limits.maxTwinsPerDevice) {
      throw new RequestError(
        CODE_BAD_REQUEST,
        `Cannot update twin: more than ${limits.maxTwinsPerDevice} properties`,
      );
    }
    const merged = mergeFromBox(stored, twin, now());
    const hasReport = Object.keys(merged.reported).length > 0;
    const seq = store.transaction(() => {
      store.putTwins(id, merged.changed);
      return hasReport ? store.putReports(id, merged.reported) : 0;
    });
    if (hasReport) deliverReport(report(namespace, name, merged.reported, seq, eventId));
    return merged;
  };
  /** A device state from the box; online and ok (as upstream) set last_online. Returns last_online. */
  const stateFromBox = (id: string, state: DeviceState): string => {
    const row = knownDevice(id, "update state");
    const lastOnline = state === "online" || state === "ok" ? new Date(now()).toISOString() : row.last_online;
    store.setState(id, state, lastOnline);
    return lastOnline;
  };

  const handleDevice = async (topic: string, payload: Uint8Array) => {
    const target = parseDeviceTopic(topic);
    if (!target) return;
    const { namespace, name, id } = target;
    const result = `${topic}/result`;
    let eventId: string | undefined;
    try {
      switch (target.rest) {
        case "twin/update": {
          const request = read(updateSchema, payload, "update twin");
          eventId = request.event_id;
          const merged = updateFromBox(namespace, name, request.twin, eventId);
          await publish(result, { ...meta(eventId), twin: merged.changed });
          await announce(namespace, name, merged, eventId);
          return;
        }
        case "twin/get": {
          const request = read(GetRequestSchema, payload, "get twin");
          eventId = request.event_id;
          knownDevice(id, "get twin");
          await publish(result, { ...meta(eventId), twin: store.twins(id) });
          return;
        }
        case "state/update": {
          const request = read(StateUpdateSchema, payload, "update state");
          eventId = request.event_id;
          const lastOnline = stateFromBox(id, request.state);
          await publish(result, {
            ...meta(eventId),
            device: { name, state: request.state, last_online: lastOnline },
          });
          options.onState?.(id, request.state, lastOnline);
          return;
        }
      }
    } catch (error) {
      const requestError = error instanceof RequestError
        ? error
        : new RequestError(CODE_INTERNAL, `Cannot handle ${target.rest}: ${(error as Error).message}`);
      if (requestError.code === CODE_INTERNAL) log.error("twin request failed", { topic, error });
      else {log.debug("twin request refused", {
          topic,
          code: requestError.code,
          reason: requestError.message,
        });}
      const body: ErrorResult = { ...meta(eventId), code: requestError.code, reason: requestError.message };
      await publish(result, body);
    }
  };

  const handleMembershipGet = async (topic: string, payload: Uint8Array) => {
    const result = `${topic}/result`;
    try {
      const request = read(GetRequestSchema, payload, "get membership");
      await publish(result, { ...meta(request.event_id), devices: store.devices() });
    } catch (error) {
      const code = error instanceof RequestError ? error.code : CODE_INTERNAL;
      await publish(result, { ...meta(), code, reason: (error as Error).message });
    }
  };

  const enqueue = (work: () => Promise<void>) => {
    if (pending >= limits.maxPendingRequests) {
      log.warn("twin request dropped", { reason: "maxPendingRequests", pending });
      return;
    }
    pending++;
    queue = queue.then(work).catch((error) => log.error("twin request failed", { error })).finally(() => {
      pending--;
    });
  };
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const done = queue.then(work);
    queue = done.then(() => {}, () => {});
    return done;
  };

  const unsubscribe = await Promise.all([
    ...["twin/update", "twin/get", "state/update"].map((rest) =>
      options.bus.subscribe(`$hw/events/device/+/+/${rest}`, (topic, payload) => {
        enqueue(() => handleDevice(topic, payload));
      })
    ),
    options.bus.subscribe(nodeTopic(options.node, "membership/get"), (topic, payload) => {
      enqueue(() => handleMembershipGet(topic, payload));
    }),
  ]);

  return {
    applyMembership: (added, removed) =>
      serial(async () => {
        const at = now();
        const gone: DeviceInfo[] = [];
        const merges = store.transaction(() => {
          for (const id of removed) {
            const row = store.device(id);
            if (row && store.removeDevice(id)) gone.push({ id, name: row.name });
          }
          return added.map((spec) => {
            const id = `${spec.namespace}/${spec.name}`;
            const twin = v.parse(desiredSchema, spec.twin ?? {});
            store.putDevice(spec, at);
            const merged = mergeDesired(store.twins(id), twin, at);
            store.putTwins(id, merged.changed);
            return { spec, merged };
          });
        });
        const addedInfo = added.map((spec) => store.info(store.device(`${spec.namespace}/${spec.name}`)!));
        await publish(nodeTopic(options.node, "membership/updated"), {
          ...meta(),
          added_devices: addedInfo,
          removed_devices: gone,
        });
        for (const { spec, merged } of merges) {
          if (Object.keys(merged.changed).length > 0) await announce(spec.namespace, spec.name, merged);
        }
        log.info("membership updated", { added: added.length, removed: gone.length });
      }),
    applyDesired: (deviceId, twins) =>
      serial(async () => {
        const row = store.device(deviceId);
        if (!row) {
          throw new RangeError(`Cannot apply desired twins: device ${deviceId} is not a member of this node`);
        }
        const desired = v.parse(desiredSchema, twins);
        const merged = store.transaction(() => {
          const result = mergeDesired(store.twins(deviceId), desired, now());
          store.putTwins(deviceId, result.changed);
          return result;
        });
        if (Object.keys(merged.changed).length > 0) await announce(row.namespace, row.name, merged);
      }),
    pendingReports() {
      const byDevice = new Map<string, { twin: Twins; seq: number }>();
      for (const row of store.reports()) {
        const entry = byDevice.get(row.device_id) ?? { twin: {}, seq: 0 };
        entry.twin[row.name] = JSON.parse(row.twin);
        entry.seq = Math.max(entry.seq, row.seq);
        byDevice.set(row.device_id, entry);
      }
      return [...byDevice].map(([id, { twin, seq }]) => {
        const [namespace = "", name = ""] = id.split("/");
        return report(namespace, name, twin, seq);
      });
    },
    ackReport(done) {
      store.ackReports(done.deviceId, Object.keys(done.content.twin), done.seq);
    },
    reportFromMapper: (deviceId, twins) =>
      serial(async () => {
        const { namespace, name } = splitDeviceId(deviceId);
        const twin = v.safeParse(desiredSchema, twins);
        if (!twin.success) {
          throw new RequestError(CODE_BAD_REQUEST, `Cannot update twin: ${twin.issues[0]?.message}`);
        }
        const merged = updateFromBox(namespace, name, twin.output);
        await announce(namespace, name, merged);
      }),
    stateFromMapper: (deviceId, state) =>
      serial(() => {
        const lastOnline = stateFromBox(deviceId, state);
        options.onState?.(deviceId, state, lastOnline);
        return Promise.resolve();
      }),
    devices: () => store.devices(),
    twins: (deviceId) => store.device(deviceId) ? store.twins(deviceId) : undefined,
    async close() {
      await Promise.all(unsubscribe.map((u) => u()));
      await queue;
    },
  };
}
