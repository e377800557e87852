/**
 * What the cloud's device controller sends, read into DeviceTwin calls: `updated membership` (devices added
 * to or removed from this node), `updated membership/detail` (the node's whole membership, sent on every
 * connect), `update device/<ns>/<name>/twin/cloud_updated` (desired values).
 */
import * as v from "valibot";
import type { DeviceInfo, DeviceSpec, DeviceTwin, Twins } from "../twin/mod.ts";

const MAX_DEVICES = 10_000;
const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(320));

const WireDeviceSchema = v.object({
  id: Id,
  name: v.optional(v.string()),
  description: v.optional(v.string()),
  attributes: v.optional(v.record(v.string(), v.object({ value: v.string() }))),
  // Checked by the twin itself (types, sizes, count).
  twin: v.optional(v.record(v.string(), v.record(v.string(), v.unknown()))),
});
const Devices = v.optional(v.nullable(v.pipe(v.array(WireDeviceSchema), v.maxLength(MAX_DEVICES))), []);

export const MembershipSchema = v.object({ added_devices: Devices, removed_devices: Devices });
export const MembershipDetailSchema = v.object({ devices: Devices });
export const DesiredSchema = v.object({ twin: v.record(v.string(), v.record(v.string(), v.unknown())) });

type WireDevice = v.InferOutput<typeof WireDeviceSchema>;

/** `<namespace>/<name>` as namespace and name; an id without namespace is in "default" (pre-1.17 form). */
export function splitId(id: string): { namespace: string; name: string } {
  const slash = id.indexOf("/");
  return slash < 0
    ? { namespace: "default", name: id }
    : { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

export function deviceSpecOf(device: WireDevice): DeviceSpec {
  const { namespace, name } = splitId(device.id);
  return {
    namespace,
    name,
    ...(device.description ? { description: device.description } : {}),
    ...(device.attributes ? { attributes: device.attributes } : {}),
    twin: (device.twin ?? {}) as Twins,
  };
}

/** Applies a membership change. Throws v.ValiError for content that is not a membership. */
export async function applyMembership(twin: DeviceTwin, content: unknown): Promise<void> {
  const membership = v.parse(MembershipSchema, content);
  await twin.applyMembership(
    (membership.added_devices ?? []).map(deviceSpecOf),
    (membership.removed_devices ?? []).map((d) => d.id),
  );
}

/**
 * Makes the held devices the listed ones: removes devices the cloud no longer lists, adds the new ones and
 * those whose properties changed. Nothing is published when nothing changed.
 */
export async function applyMembershipDetail(twin: DeviceTwin, content: unknown): Promise<void> {
  const detail = v.parse(MembershipDetailSchema, content);
  const listed = new Map((detail.devices ?? []).map((d) => [splitIdKey(d.id), d]));
  const held = twin.devices();
  const removed = held.filter((d) => !listed.has(d.id)).map((d) => d.id);
  const added = [...listed].filter(([id, device]) => changed(twin.twins(id), held, id, device)).map(([, d]) =>
    deviceSpecOf(d)
  );
  if (added.length === 0 && removed.length === 0) return;
  await twin.applyMembership(added, removed);
}

/** Applies desired values. Throws v.ValiError for content that is not a twin update. */
export async function applyDesired(twin: DeviceTwin, deviceId: string, content: unknown): Promise<void> {
  const desired = v.parse(DesiredSchema, content);
  await twin.applyDesired(deviceId, desired.twin as Twins);
}

function splitIdKey(id: string): string {
  const { namespace, name } = splitId(id);
  return `${namespace}/${name}`;
}

function changed(stored: Twins | undefined, held: DeviceInfo[], id: string, device: WireDevice): boolean {
  if (!stored || !held.some((d) => d.id === id)) return true;
  for (const [prop, raw] of Object.entries(device.twin ?? {})) {
    const wanted = raw as { expected?: { value?: string }; metadata?: { type?: string } };
    const have = stored[prop];
    if (!have) return true;
    if (wanted.metadata?.type && wanted.metadata.type !== have.metadata?.type) return true;
    if (wanted.expected?.value !== undefined && wanted.expected.value !== have.expected?.value) return true;
  }
  return false;
}
