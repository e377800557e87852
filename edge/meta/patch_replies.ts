// The pod or Node a status patch's reply carries, as the apiserver wrote it. The cloud does not send the
// edge's own status write back down (no echo), so storing the reply is how the store, and the MetaServer's
// readers, see the current status and resourceVersion. Only an object the store still holds with the same
// uid is updated: a reply that arrives after the object was deleted must not bring it back.
import { buildResource, type Message, newMessage, parseResource } from "../../lib/protocol/mod.ts";
import type { EdgeStore } from "../store/mod.ts";

/** Status patch type -> the stored object's type. */
const PATCHED: Readonly<Record<string, string>> = { podpatch: "pod", nodepatch: "node" };

export function objectUpdateFromPatchReply(
  store: EdgeStore,
  request: Message,
  object: unknown,
): Message | undefined {
  if (request.route.operation !== "patch") return undefined;
  const parsed = parseResource(request.route.resource);
  if (!parsed.ok || parsed.value.kind !== "object") return undefined;
  const type = PATCHED[parsed.value.type];
  const { namespace, name } = parsed.value;
  if (!type || name === undefined || (type === "pod") !== (namespace !== null)) return undefined;
  if (!isObject(object) || !isObject(object.metadata)) return undefined;
  const { metadata } = object;
  if (metadata.name !== name || (metadata.namespace ?? null) !== namespace) return undefined;
  const resource = buildResource({ namespace, type, name });
  const held = store.get(resource);
  if (!held || held.uid !== metadata.uid) return undefined;
  return newMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource,
    content: object,
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
