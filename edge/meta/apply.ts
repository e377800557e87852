// Applies what the cloud sends (insert/update/delete of Kubernetes objects) to the store, then tells the
// pod manager. The hub acks only after this returns, so an acked object is on disk.
import { type Message, parseResource } from "../../lib/protocol/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { EdgeStore } from "../store/mod.ts";
import type { StoreObjects } from "./store_objects.ts";

/** Object types the edge keeps; anything else is acked and dropped, as upstream's metamanager does. */
export const STORED_TYPES = new Set(["pod", "configmap", "secret", "node", "service", "endpoints"]);

export type ApplyOutcome = "stored" | "stale" | "unchanged" | "deleted" | "absent" | "ignored";

interface ObjectMeta {
  uid?: unknown;
  resourceVersion?: unknown;
  deletionTimestamp?: unknown;
}

export function applyCloudMessage(
  store: EdgeStore,
  objects: StoreObjects,
  message: Message,
  log: Logger,
): ApplyOutcome {
  const { operation, resource } = message.route;
  if (message.route.group !== "resource") return "ignored";
  const parsed = parseResource(resource);
  if (!parsed.ok || parsed.value.kind !== "object" || !STORED_TYPES.has(parsed.value.type)) return "ignored";
  const { type } = parsed.value;
  // The store key drops upstream's node/<node>/ prefix, keeping the plain wire form.
  const key = resource.replace(/^node\/[^/]+\//, "");
  const meta = metadataOf(message.content);
  switch (operation) {
    case "insert":
    case "update": {
      const uid = typeof meta?.uid === "string" ? meta.uid : undefined;
      const resourceVersion = typeof meta?.resourceVersion === "string"
        ? meta.resourceVersion
        : message.header.resourceversion;
      if (!uid || !resourceVersion || !/^\d+$/.test(resourceVersion)) {
        log.warn("cloud object without uid or resourceVersion dropped", { resource, operation });
        return "ignored";
      }
      const stored = { key, type, uid, resourceVersion, value: message.content };
      const outcome = store.put(stored);
      if (outcome === "stored") objects.changed("upsert", stored);
      return outcome;
    }
    case "delete": {
      const existing = store.get(key);
      if (!existing) return "absent";
      const uid = typeof meta?.uid === "string" ? meta.uid : undefined;
      if (!store.delete(key, uid)) return "absent";
      objects.changed("delete", existing);
      return "deleted";
    }
    default:
      return "ignored";
  }
}

function metadataOf(content: unknown): ObjectMeta | undefined {
  if (typeof content !== "object" || content === null) return undefined;
  const metadata = (content as { metadata?: unknown }).metadata;
  return typeof metadata === "object" && metadata !== null ? metadata as ObjectMeta : undefined;
}
