/**
 * Device messages between cloudcore and an edge, in KubeEdge's shapes: what goes down (membership of a
 * node, desired twins) and what comes up (reported twins, device state), validated with valibot.
 */
import * as v from "valibot";
import {
  buildTwinResource,
  MEMBERSHIP_RESOURCE,
  type Message,
  newMessage,
  TWIN_CLOUD_UPDATED,
} from "../../lib/protocol/mod.ts";

/** The source upstream's device controller writes on its messages. */
export const DEVICE_CONTROLLER_SOURCE = "devicecontroller";
/** The full membership of a node, sent on every connect (upstream's answer to the edge's detail request). */
export const MEMBERSHIP_DETAIL_RESOURCE = `${MEMBERSHIP_RESOURCE}/detail`;

export const MAX_PROPERTIES = 256;
const MAX_NAME = 128;
const MAX_VALUE = 64 * 1024;

/** The parts of a Device (devices.kubeedge.io/v1beta1) the controller reads. */
export interface DeviceResource {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec?: {
    deviceModelRef?: { name?: string };
    nodeName?: string;
    description?: string;
    properties?: Array<{ name?: string; desired?: { value?: string; metadata?: Record<string, string> } }>;
  };
  status?: DeviceStatus;
}

export interface TwinStatus {
  propertyName: string;
  reported?: { value: string; metadata?: Record<string, string> };
  observedDesired?: { value: string; metadata?: Record<string, string> };
}

export interface DeviceStatus {
  twins?: TwinStatus[];
  state?: string;
  lastOnlineTime?: string;
}

export interface DeviceModelResource {
  metadata?: { name?: string; namespace?: string };
  spec?: { properties?: Array<{ name?: string; type?: string }> };
}

/** One twin of a device on the wire (KubeEdge's MsgTwin, only what the cloud sets). */
export interface WireTwin {
  expected?: { value: string; metadata: { timestamp: number } };
  optional?: boolean;
  metadata?: { type: string };
}

/** A device on the wire, as in `added_devices` (KubeEdge's dttype.Device). */
export interface WireDevice {
  id: string;
  name: string;
  description?: string;
  twin: Record<string, WireTwin>;
}

/** The device as its node should hold it; property types come from the model (string without one). */
export function wireDevice(
  device: DeviceResource,
  model: DeviceModelResource | undefined,
  now: number,
): WireDevice {
  const namespace = device.metadata?.namespace ?? "default";
  const name = device.metadata?.name ?? "";
  const types = new Map<string, string>();
  for (const p of model?.spec?.properties ?? []) {
    if (p.name && p.type) types.set(p.name, p.type.toLowerCase());
  }
  const twin: Record<string, WireTwin> = {};
  for (const property of device.spec?.properties ?? []) {
    if (!property.name) continue;
    const value = property.desired?.value;
    twin[property.name] = {
      optional: true,
      metadata: { type: types.get(property.name) ?? "string" },
      ...(value !== undefined ? { expected: { value, metadata: { timestamp: now } } } : {}),
    };
  }
  return {
    id: `${namespace}/${name}`,
    name,
    ...(device.spec?.description ? { description: device.spec.description } : {}),
    twin,
  };
}

/** What makes a membership change: everything but the desired values (those go as cloud_updated). */
export function membershipFingerprint(device: WireDevice): string {
  const twin = Object.entries(device.twin).map(([name, t]) => [name, t.metadata?.type ?? ""]);
  return JSON.stringify([device.id, device.description ?? "", twin]);
}

/** The desired values alone, to tell whether a cloud_updated is due. */
export function desiredFingerprint(device: WireDevice): string {
  return JSON.stringify(Object.entries(device.twin).map(([name, t]) => [name, t.expected?.value ?? null]));
}

/** `updated membership`: one device added to, or removed from, a node. */
export function membershipMessage(
  change: { added?: WireDevice; removed?: Pick<WireDevice, "id" | "name"> },
  resourceVersion: string | undefined,
): Message {
  return newMessage({
    source: DEVICE_CONTROLLER_SOURCE,
    group: "twin",
    operation: "updated",
    resource: MEMBERSHIP_RESOURCE,
    content: {
      event_id: crypto.randomUUID(),
      timestamp: Date.now(),
      added_devices: change.added ? [change.added] : [],
      removed_devices: change.removed ? [{ id: change.removed.id, name: change.removed.name }] : [],
    },
    ...(resourceVersion ? { resourceVersion } : {}),
  });
}

/** `updated membership/detail`: every device of the node; the edge removes those it holds beyond it. */
export function membershipDetailMessage(devices: readonly WireDevice[]): Message {
  return newMessage({
    source: DEVICE_CONTROLLER_SOURCE,
    group: "twin",
    operation: "updated",
    resource: MEMBERSHIP_DETAIL_RESOURCE,
    content: { event_id: crypto.randomUUID(), timestamp: Date.now(), devices },
  });
}

/** `update device/<ns>/<name>/twin/cloud_updated` with the desired (expected) values. */
export function desiredMessage(device: WireDevice, resourceVersion: string | undefined): Message {
  const [namespace = "default", name = ""] = device.id.split("/");
  const twin: Record<string, WireTwin> = {};
  for (const [prop, t] of Object.entries(device.twin)) {
    if (t.expected) twin[prop] = { expected: t.expected, ...(t.metadata ? { metadata: t.metadata } : {}) };
  }
  return newMessage({
    source: DEVICE_CONTROLLER_SOURCE,
    group: "twin",
    operation: "update",
    resource: buildTwinResource({ namespace, name, event: TWIN_CLOUD_UPDATED }),
    content: { event_id: crypto.randomUUID(), timestamp: Date.now(), twin },
    ...(resourceVersion ? { resourceVersion } : {}),
  });
}

// Edge -> cloud.

const PropertyName = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_NAME));
const Value = v.object({
  value: v.pipe(v.string(), v.maxLength(MAX_VALUE)),
  metadata: v.optional(v.object({ timestamp: v.optional(v.number()) })),
});

export const TwinReportSchema = v.object({
  event_id: v.optional(v.pipe(v.string(), v.maxLength(MAX_NAME))),
  timestamp: v.optional(v.number()),
  twin: v.pipe(
    v.record(
      PropertyName,
      v.object({
        actual: v.optional(Value),
        expected: v.optional(Value),
        metadata: v.optional(v.object({ type: v.optional(v.pipe(v.string(), v.maxLength(32))) })),
      }),
    ),
    v.check((twin) => Object.keys(twin).length <= MAX_PROPERTIES, `more than ${MAX_PROPERTIES} properties`),
  ),
});
export type TwinReportContent = v.InferOutput<typeof TwinReportSchema>;

const State = v.pipe(v.string(), v.maxLength(32));
const LastOnline = v.pipe(v.string(), v.maxLength(64));
/** `device/<ns>/<name>/state/update`: `{event_id, timestamp, device: {state, last_online}}` (or flat). */
export const StateReportSchema = v.object({
  event_id: v.optional(v.pipe(v.string(), v.maxLength(MAX_NAME))),
  timestamp: v.optional(v.number()),
  state: v.optional(State),
  last_online: v.optional(LastOnline),
  device: v.optional(v.object({ state: v.optional(State), last_online: v.optional(LastOnline) })),
});

/** What one report changes in Device.status; the writer merges these, latest wins. */
export interface StatusUpdate {
  twins: Map<string, Omit<TwinStatus, "propertyName">>;
  state?: string;
  lastOnlineTime?: string;
}

/** Device.status changes a reported-twin message makes. */
export function statusFromTwinReport(content: TwinReportContent, now: number): StatusUpdate {
  const twins: StatusUpdate["twins"] = new Map();
  for (const [prop, twin] of Object.entries(content.twin)) {
    const entry: Omit<TwinStatus, "propertyName"> = {};
    if (twin.actual) {
      const metadata: Record<string, string> = {
        timestamp: String(twin.actual.metadata?.timestamp ?? content.timestamp ?? now),
      };
      if (twin.metadata?.type) metadata.type = twin.metadata.type;
      entry.reported = { value: twin.actual.value, metadata };
    }
    if (twin.expected) {
      entry.observedDesired = {
        value: twin.expected.value,
        metadata: { timestamp: String(twin.expected.metadata?.timestamp ?? content.timestamp ?? now) },
      };
    }
    if (entry.reported || entry.observedDesired) twins.set(prop, entry);
  }
  return { twins };
}

export function statusFromStateReport(content: v.InferOutput<typeof StateReportSchema>): StatusUpdate {
  const state = content.device?.state ?? content.state;
  const lastOnline = content.device?.last_online ?? content.last_online;
  return {
    twins: new Map(),
    ...(state ? { state } : {}),
    ...(lastOnline ? { lastOnlineTime: lastOnline } : {}),
  };
}
