/**
 * Full Device and DeviceModel objects from the cloud (KubeEdge v1.23's form: group `resource`,
 * `<ns>/device/<name>` and `<ns>/devicemodel/<name>`, insert/update/delete), kept in the edge store so that a
 * restart with the cloud away still has them for the mappers (DMI). The hub acks after this returns, so an
 * acked object is on disk. Newest resourceVersion wins per uid (EdgeStore).
 */
import type { Message, ObjectResource } from "../../lib/protocol/mod.ts";
import type { EdgeStore, StoredObject } from "../store/mod.ts";

export const DEVICE_TYPE = "device";
export const DEVICE_MODEL_TYPE = "devicemodel";
export type DeviceObjectType = typeof DEVICE_TYPE | typeof DEVICE_MODEL_TYPE;

export function isDeviceObjectType(type: string): type is DeviceObjectType {
  return type === DEVICE_TYPE || type === DEVICE_MODEL_TYPE;
}

export type DeviceObjectOutcome = "stored" | "stale" | "unchanged" | "deleted" | "absent" | "ignored";

export type DeviceObjectStore = Pick<EdgeStore, "put" | "get" | "delete" | "list">;

export interface DeviceObjectChange {
  readonly op: "upsert" | "delete";
  readonly object: StoredObject;
}

interface Meta {
  name?: unknown;
  namespace?: unknown;
  uid?: unknown;
  resourceVersion?: unknown;
}

/** Applies one object message; `changed` is what it changed in the store (nothing for stale or unchanged). */
export function applyDeviceObject(
  store: DeviceObjectStore,
  target: ObjectResource & { type: DeviceObjectType },
  message: Message,
): { outcome: DeviceObjectOutcome; change?: DeviceObjectChange } {
  const key = `${target.namespace}/${target.type}/${target.name ?? ""}`;
  const meta = metadataOf(message.content);
  const uid = typeof meta?.uid === "string" ? meta.uid : undefined;
  switch (message.route.operation) {
    case "insert":
    case "update": {
      const rv = typeof meta?.resourceVersion === "string"
        ? meta.resourceVersion
        : message.header.resourceversion;
      if (!uid || !rv || !/^\d+$/.test(rv) || !target.name || meta?.name !== target.name) {
        return { outcome: "ignored" };
      }
      const object: StoredObject = {
        key,
        type: target.type,
        uid,
        resourceVersion: rv,
        value: message.content,
      };
      const outcome = store.put(object);
      return outcome === "stored" ? { outcome, change: { op: "upsert", object } } : { outcome };
    }
    case "delete": {
      const existing = store.get(key);
      if (!existing || !store.delete(key, uid)) return { outcome: "absent" };
      return { outcome: "deleted", change: { op: "delete", object: existing } };
    }
    default:
      return { outcome: "ignored" };
  }
}

/**
 * After the cloud's whole membership (`membership/detail`): drops the Devices it does not list, and the
 * DeviceModels no remaining Device refers to (the cloud sends the needed ones again after the detail).
 */
export function pruneDeviceObjects(
  store: DeviceObjectStore,
  listed: ReadonlySet<string>,
): DeviceObjectChange[] {
  const changes: DeviceObjectChange[] = [];
  const models = new Set<string>();
  for (const device of store.list(DEVICE_TYPE)) {
    const { namespace, name } = idOf(device.key);
    if (listed.has(`${namespace}/${name}`)) {
      const ref = (device.value as { spec?: { deviceModelRef?: { name?: string } } })?.spec?.deviceModelRef
        ?.name;
      if (ref) models.add(`${namespace}/${DEVICE_MODEL_TYPE}/${ref}`);
      continue;
    }
    if (store.delete(device.key, device.uid)) changes.push({ op: "delete", object: device });
  }
  for (const model of store.list(DEVICE_MODEL_TYPE)) {
    if (models.has(model.key)) continue;
    if (store.delete(model.key, model.uid)) changes.push({ op: "delete", object: model });
  }
  return changes;
}

/** `<ns>/<type>/<name>` as namespace and name. */
export function idOf(key: string): { namespace: string; name: string } {
  const [namespace = "", , name = ""] = key.split("/");
  return { namespace, name };
}

function metadataOf(content: unknown): Meta | undefined {
  if (typeof content !== "object" || content === null) return undefined;
  const metadata = (content as { metadata?: unknown }).metadata;
  return typeof metadata === "object" && metadata !== null ? metadata as Meta : undefined;
}
