/**
 * Devices on the edge, wired to the cloud: the EventBus (upload topics go to the cloud as group "user",
 * the cloud's "user" messages are published on the box) and the DeviceTwin (membership and desired values
 * from the cloud; reported values to the cloud, acked only once the cloud answered "OK").
 *
 * ```ts
 * const devices = startEdgeDevices({ store, hub, config, nodeName, log });
 * if (await devices.handleCloudMessage(message)) return;   // in the hub's message handler
 * await devices.onConnected();                             // after each connect
 * ```
 *
 * Full Device and DeviceModel objects (`<ns>/device/<name>`, `<ns>/devicemodel/<name>`, group resource) are
 * kept in the edge store (device_objects.ts) and handed to `onDeviceObjects` (DMI) after the commit.
 *
 * The bus starts in the background (an external broker may take seconds to answer), so edgecore starts
 * without waiting for it; cloud messages and reports wait until it is up.
 */
import * as v from "valibot";
import type { Logger } from "../../lib/log.ts";
import {
  ackOf,
  type Message,
  newMessage,
  parseResource,
  TWIN_CLOUD_UPDATED,
} from "../../lib/protocol/mod.ts";
import { type EventBus, eventBusOptionsFromConfig, startEventBus } from "../bus/mod.ts";
import type { EdgeCoreConfig } from "../config.ts";
import type { EdgeHub } from "../hub/mod.ts";
import type { EdgeStore } from "../store/mod.ts";
import { type DeviceTwin, startDeviceTwin } from "../twin/mod.ts";
import {
  applyDesired,
  applyMembership,
  applyMembershipDetail,
  MembershipDetailSchema,
  splitId,
} from "./cloud_messages.ts";
import {
  applyDeviceObject,
  type DeviceObjectChange,
  type DeviceObjectStore,
  isDeviceObjectType,
  pruneDeviceObjects,
} from "./device_objects.ts";
import { ReportUplink } from "./report_uplink.ts";

export interface EdgeDevicesOptions {
  readonly store: Pick<EdgeStore, "database"> & DeviceObjectStore;
  readonly hub: Pick<EdgeHub, "connected" | "send" | "request">;
  readonly config: EdgeCoreConfig;
  readonly nodeName: string;
  readonly log: Logger;
  /** How long a report waits for the cloud's answer. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** How often unacknowledged reports are sent again while connected. Default 5 s. */
  readonly retryMs?: number;
}

export interface EdgeDevices {
  /** The EventBus once started (edge/router.ts uses it for the cloud's Router). */
  readonly bus: Promise<EventBus>;
  /** True when `message` was a device, twin, membership or user message (handled and, if due, acked). */
  handleCloudMessage(message: Message): Promise<boolean>;
  /** After a (re)connect: sends the unacknowledged reports, the latest value per property. */
  onConnected(): Promise<void>;
  /** Called with every committed change of a Device or DeviceModel object (DMI listens here). */
  onDeviceObjects(listener: (changes: readonly DeviceObjectChange[]) => void): void;
  /** The started twin, once the bus is up (undefined when deviceTwin is disabled). */
  twin(): Promise<DeviceTwin | undefined>;
  close(): Promise<void>;
}

/** Operations the hub acks by itself after the handler; others are acked here. */
const HUB_ACKED: ReadonlySet<string> = new Set(["insert", "update", "patch", "delete"]);
const MEMBERSHIP_DETAIL = "detail";
const decoder = new TextDecoder();

export function startEdgeDevices(options: EdgeDevicesOptions): EdgeDevices {
  const log = options.log.child({ module: "devices" });
  const { hub, nodeName } = options;
  let twin: DeviceTwin | undefined;
  const uplink = new ReportUplink({
    hub,
    twin: () => twin,
    log,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    retryMs: options.retryMs ?? 5_000,
  });

  const upload = (topic: string, payload: Uint8Array) => {
    // Uploads are live data: with the cloud away they are dropped (as upstream does), never queued ahead
    // of what the hub's outbox holds for pods and the node.
    if (!hub.connected) return;
    try {
      hub.send(newMessage({
        source: "eventbus",
        group: "user",
        operation: "upload",
        resource: topic,
        content: decoder.decode(payload),
      }));
    } catch (error) {
      log.warn("upload to cloud dropped", { topic: topic.slice(0, 200), error });
    }
  };

  const objectListeners: Array<(changes: readonly DeviceObjectChange[]) => void> = [];
  const objectsChanged = (changes: readonly DeviceObjectChange[]) => {
    if (changes.length === 0) return;
    for (const listener of objectListeners) {
      try {
        listener(changes);
      } catch (error) {
        log.error("device object listener failed", { error });
      }
    }
  };

  let closed = false;
  let started: { bus: EventBus; twin?: DeviceTwin } | undefined;
  const ready: Promise<{ bus: EventBus; twin?: DeviceTwin }> = (async () => {
    const bus = await startEventBus(
      eventBusOptionsFromConfig(options.config.modules.eventBus, { log, node: nodeName, upstream: upload }),
    );
    if (closed) {
      await bus.close();
      throw new Error("Cannot start devices: edgecore is stopping");
    }
    if (!options.config.modules.deviceTwin.enable) return started = { bus };
    try {
      twin = await startDeviceTwin({
        database: options.store.database,
        bus,
        node: nodeName,
        log,
        onReport: (report) => uplink.reported(report.deviceId),
        onState: (deviceId, state, lastOnline) => uplink.state(deviceId, state, lastOnline),
      });
    } catch (error) {
      await bus.close();
      throw error;
    }
    if (closed) {
      await twin.close();
      await bus.close();
      throw new Error("Cannot start devices: edgecore is stopping");
    }
    uplink.start();
    return started = { bus, twin };
  })();
  ready.catch((error) => log.error("devices not started", { error }));

  const ack = (message: Message) => {
    if (HUB_ACKED.has(message.route.operation)) return;
    try {
      hub.send(ackOf(message));
    } catch (error) {
      log.warn("device message ack not sent", { error });
    }
  };

  /** Runs `apply`; content the twin cannot read is acked and dropped (a resend would not fix it). */
  const handle = async (message: Message, apply: (twin: DeviceTwin) => Promise<void>) => {
    const { twin } = await ready;
    if (!twin) {
      log.debug("device message ignored: deviceTwin disabled", { resource: message.route.resource });
    } else {
      try {
        await apply(twin);
      } catch (error) {
        if (!(error instanceof v.ValiError) && !(error instanceof RangeError)) throw error;
        log.warn("device message dropped", {
          resource: message.route.resource.slice(0, 300),
          why: error.message,
        });
      }
    }
    ack(message);
  };

  const bus = ready.then((s) => s.bus);
  bus.catch(() => {}); // logged above; a user of `bus` sees the rejection
  return {
    bus,
    async handleCloudMessage(message) {
      const { group, resource, operation } = message.route;
      if (operation === "response" || operation === "error") return false;
      if (group === "user") {
        const { bus } = await ready;
        const payload = typeof message.content === "string"
          ? message.content
          : JSON.stringify(message.content ?? null);
        await bus.publishFromCloud(resource.replace(/^node\/[^/]+\//, ""), payload);
        ack(message);
        return true;
      }
      const parsed = parseResource(resource);
      if (!parsed.ok) return false;
      const target = parsed.value;
      switch (target.kind) {
        case "object": {
          const type = target.type;
          if (!isDeviceObjectType(type)) return false;
          const { outcome, change } = applyDeviceObject(options.store, { ...target, type }, message);
          if (outcome === "ignored") {
            log.warn("device object dropped", { resource: resource.slice(0, 300), operation });
          }
          if (change) objectsChanged([change]);
          return true;
        }
        case "membership":
          await handle(
            message,
            (twin) =>
              target.subresource === MEMBERSHIP_DETAIL
                ? applyMembershipDetail(twin, message.content)
                : target.subresource === undefined
                ? applyMembership(twin, message.content)
                : Promise.resolve(),
          );
          if (target.subresource === MEMBERSHIP_DETAIL) {
            const detail = v.safeParse(MembershipDetailSchema, message.content);
            if (detail.success) {
              const listed = new Set((detail.output.devices ?? []).map((d) => {
                const { namespace, name } = splitId(d.id);
                return `${namespace}/${name}`;
              }));
              objectsChanged(pruneDeviceObjects(options.store, listed));
            }
          }
          return true;
        case "twin":
          await handle(message, async (twin) => {
            if (target.event !== TWIN_CLOUD_UPDATED || operation === "delete") return;
            const id = `${target.namespace}/${target.name}`;
            // A desired update that overtook the device's membership, or outlived it: nothing to apply.
            if (!twin.twins(id)) {
              log.warn("desired twin for a device this node does not hold", { device: id });
              return;
            }
            await applyDesired(twin, id, message.content);
          });
          return true;
        case "device":
          ack(message);
          return true;
      }
    },
    async onConnected() {
      await ready.catch(() => {});
      await uplink.sendPending();
    },
    onDeviceObjects(listener) {
      objectListeners.push(listener);
    },
    async twin() {
      return (await ready.catch(() => undefined))?.twin;
    },
    async close() {
      closed = true;
      uplink.stop();
      // A bus still dialling an external broker closes itself once it is up; close does not wait for it.
      await started?.twin?.close();
      await started?.bus.close();
    },
  };
}
