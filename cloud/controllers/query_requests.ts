/**
 * ConfigMap and Secret lookups (`query <ns>/configmap/<name>`, `query <ns>/secret/<name>`), answered from
 * the informer caches as upstream answers from its listers: content = the object.
 */
import type { Message } from "../../lib/protocol/mod.ts";
import type { RequestDeps } from "./edge_request.ts";
import { notFoundResponse, queryResponse } from "./replies.ts";

export function queryObject(
  deps: RequestDeps,
  type: "configmap" | "secret",
  namespace: string,
  name: string,
  request: Message,
): Message {
  const cache = type === "configmap" ? deps.caches.configMaps : deps.caches.secrets;
  const object = cache.get(name, namespace);
  if (!object) return notFoundResponse(request, { group: "", kind: `${type}s`, name });
  return queryResponse(request, object);
}
