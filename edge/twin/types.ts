/**
 * Device twin messages as KubeEdge's mappers and apps send them on MQTT, validated with valibot. Values are
 * strings on the wire (KubeEdge's `*string`); `metadata.type` says how to read them.
 */
import * as v from "valibot";

/** Bounds on what one device may hold: each is peer-controlled. */
export const MAX_PROPERTY_NAME_LENGTH = 128;
export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_TYPE_LENGTH = 32;

export const DEVICE_STATES = ["online", "offline", "ok", "unhealthy", "unknown"] as const;
export type DeviceState = typeof DEVICE_STATES[number];

const int = v.pipe(v.number(), v.integer(), v.minValue(0));
const timestamp = v.pipe(v.number(), v.integer());

export const TwinValueSchema = v.object({
  value: v.string(),
  metadata: v.optional(v.object({ timestamp: v.optional(timestamp) })),
});
export const TwinVersionSchema = v.object({ cloud: int, edge: int });

export const MsgTwinSchema = v.object({
  expected: v.optional(TwinValueSchema),
  actual: v.optional(TwinValueSchema),
  optional: v.optional(v.boolean()),
  metadata: v.optional(v.object({ type: v.optional(v.pipe(v.string(), v.maxLength(MAX_TYPE_LENGTH))) })),
  expected_version: v.optional(TwinVersionSchema),
  actual_version: v.optional(TwinVersionSchema),
});

const PropertyName = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_PROPERTY_NAME_LENGTH));
const EventId = v.optional(v.pipe(v.string(), v.maxLength(MAX_EVENT_ID_LENGTH)));

export function twinsSchema(maxTwins: number) {
  return v.pipe(
    v.record(PropertyName, MsgTwinSchema),
    v.check((twins) => Object.keys(twins).length <= maxTwins, `more than ${maxTwins} properties`),
  );
}

export function twinUpdateSchema(maxTwins: number) {
  return v.object({ event_id: EventId, timestamp: v.optional(timestamp), twin: twinsSchema(maxTwins) });
}

export const GetRequestSchema = v.object({ event_id: EventId, timestamp: v.optional(timestamp) });

export const StateUpdateSchema = v.object({
  event_id: EventId,
  timestamp: v.optional(timestamp),
  state: v.picklist(DEVICE_STATES),
});

export type TwinValue = v.InferOutput<typeof TwinValueSchema>;
export type TwinVersion = v.InferOutput<typeof TwinVersionSchema>;
export type MsgTwin = v.InferOutput<typeof MsgTwinSchema>;
export type Twins = Record<string, MsgTwin>;

export interface DeviceAttr {
  readonly value: string;
  readonly optional?: boolean;
  readonly metadata?: { readonly type?: string };
}

/** A device of this node as the cloud gives it (from the Device CR): what applyMembership takes. */
export interface DeviceSpec {
  readonly namespace: string;
  readonly name: string;
  readonly description?: string;
  readonly attributes?: Readonly<Record<string, DeviceAttr>>;
  /** Properties with their desired (expected) values. */
  readonly twin?: Readonly<Twins>;
}

/** A device on the wire (membership messages): KubeEdge's dttype.Device. */
export interface DeviceInfo {
  id: string;
  name: string;
  description?: string;
  state?: string;
  last_online?: string;
  attributes?: Record<string, DeviceAttr>;
  twin?: Twins;
}

/** What goes to the cloud: `device/<ns>/<name>/twin/edge_updated` with content {event_id, timestamp, twin}. */
export interface TwinReport {
  readonly deviceId: string;
  readonly namespace: string;
  readonly name: string;
  /** The wire resource, `device/<ns>/<name>/twin/edge_updated`. */
  readonly resource: string;
  readonly content: { event_id: string; timestamp: number; twin: Twins };
  /** Pass the report to ackReport once the cloud has it. */
  readonly seq: number;
}

/** KubeEdge's error codes on `.../result` topics. */
export const CODE_BAD_REQUEST = 400;
export const CODE_NOT_FOUND = 404;
export const CODE_TOO_LARGE = 413;
export const CODE_INTERNAL = 500;

export interface ErrorResult {
  event_id: string;
  timestamp: number;
  code: number;
  reason: string;
}
