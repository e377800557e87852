/**
 * Full Device and DeviceModel objects for the node a Device is bound to, as KubeEdge v1.23's device
 * controller sends them for DMI: source `devicecontroller`, group `resource`, resource `<ns>/device/<name>` and
 * `<ns>/devicemodel/<name>`, operation insert/update/delete, header.resourceversion = the object's
 * resourceVersion, content = the object with apiVersion and kind. A Device goes when it binds to a node, when
 * its spec changes (status changes do not go, as upstream), and leaves with a delete; a DeviceModel goes to
 * every node holding a Device of that model, and leaves with a delete when the last such Device does.
 *
 * Hub keys (one queue item per node and key, newest resourceVersion wins): `<device uid>/device` and
 * `<model uid>/devicemodel`, apart from the membership (`<uid>/membership`) and desired (`<uid>`) messages.
 */
import { buildResource, isResourceVersion, newMessage } from "../../lib/protocol/mod.ts";
import type { Delivery } from "../controllers/mod.ts";
import { DEVICES_GROUP, DEVICES_VERSION } from "../crds/mod.ts";
import { DEVICE_CONTROLLER_SOURCE } from "./wire.ts";

export type DeviceObjectType = "device" | "devicemodel";

interface Resource {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec?: unknown;
}

const KINDS: Record<DeviceObjectType, string> = { device: "Device", devicemodel: "DeviceModel" };

/** An insert, update or delete of `object` for its node; undefined without name or uid. */
export function objectDelivery(
  type: DeviceObjectType,
  operation: "insert" | "update" | "delete",
  object: Resource,
): Delivery | undefined {
  const { name, uid } = object.metadata ?? {};
  const namespace = object.metadata?.namespace ?? "default";
  if (!name || !uid) return undefined;
  const rv = object.metadata?.resourceVersion;
  const resourceVersion = rv && isResourceVersion(rv) ? rv : undefined;
  const message = newMessage({
    source: DEVICE_CONTROLLER_SOURCE,
    group: "resource",
    operation,
    resource: buildResource({ namespace, type, name }),
    content: { ...object, apiVersion: `${DEVICES_GROUP}/${DEVICES_VERSION}`, kind: KINDS[type] },
    ...(resourceVersion ? { resourceVersion } : {}),
  });
  return {
    message,
    uid: `${uid}/${type}`,
    ...(operation === "delete" ? { isDelete: true } : {}),
    ...(resourceVersion ? { resourceVersion } : {}),
  };
}

/** What decides whether an object goes again: its uid and spec (upstream compares specs too). */
export function specFingerprint(object: Resource): string {
  return JSON.stringify([object.metadata?.uid ?? "", object.spec ?? null]);
}

interface SentModel {
  readonly fingerprint: string;
  readonly last: Resource;
}

/**
 * The DeviceModels each node was sent. `sync(node, wanted)` sends what changed: inserts for models the node
 * newly needs, updates for changed ones, deletes for those it no longer needs.
 */
export class NodeModels {
  readonly #sent = new Map<string, Map<string, SentModel>>();

  constructor(private readonly send: (node: string, delivery: Delivery) => void) {}

  sync(node: string, wanted: ReadonlyMap<string, Resource>): void {
    const sent = this.#sent.get(node) ?? new Map<string, SentModel>();
    for (const [key, held] of sent) {
      if (wanted.has(key)) continue;
      sent.delete(key);
      const delivery = objectDelivery("devicemodel", "delete", held.last);
      if (delivery) this.send(node, delivery);
    }
    for (const [key, model] of wanted) {
      const fingerprint = specFingerprint(model);
      const held = sent.get(key);
      if (held?.fingerprint === fingerprint) continue;
      const delivery = objectDelivery("devicemodel", held ? "update" : "insert", model);
      if (!delivery) continue;
      sent.set(key, { fingerprint, last: model });
      this.send(node, delivery);
    }
    if (sent.size > 0) this.#sent.set(node, sent);
    else this.#sent.delete(node);
  }

  /** Forget what `node` was sent (it reconnected: the next sync sends everything again). */
  reset(node: string): void {
    this.#sent.delete(node);
  }
}
