/**
 * Asks the cloud for a ConfigMap or Secret a pod needs and the store lacks, as KubeEdge's edged does: KubeEdge's
 * cloud pushes these only when they change, so one that existed before the pod arrives only by asking. The
 * answer is stored like a delivery (newest resourceVersion wins) and acknowledged (KubeEdge's cloud resends an
 * unacknowledged query answer). A miss is not asked again for a few seconds.
 */
import type { Logger } from "../../lib/log.ts";
import { ackOf, buildResource, type Message, newMessage, replyOutcome } from "../../lib/protocol/mod.ts";

export interface QueryUplink {
  readonly connected: boolean;
  request(message: Message, timeoutMs: number): Promise<Message>;
  send(message: Message): void;
}

export const QUERY_TIMEOUT_MS = 10_000;
/** How long a key the cloud could not give is not asked for again. */
export const QUERY_MISS_HOLD_MS = 5_000;

export type ObjectFetcher = (type: "configmap" | "secret", namespace: string, name: string) => Promise<void>;

export function objectFetcher(
  uplink: QueryUplink,
  apply: (delivery: Message) => void,
  log: Logger,
): ObjectFetcher {
  const held = new Map<string, number>();
  return async (type, namespace, name) => {
    const resource = buildResource({ namespace, type, name });
    const now = Date.now();
    if (!uplink.connected || (held.get(resource) ?? 0) > now) return;
    held.set(resource, now + QUERY_MISS_HOLD_MS);
    if (held.size > 1_000) { for (const [key, until] of held) if (until <= now) held.delete(key); }
    let reply: Message;
    try {
      reply = await uplink.request(
        newMessage({ source: "edged", group: "meta", operation: "query", resource, content: null }),
        QUERY_TIMEOUT_MS,
      );
    } catch (error) {
      log.info("object query not answered", { resource, error });
      return;
    }
    const outcome = replyOutcome(reply);
    if (!outcome.ok) {
      log.info("object query refused", { resource, reason: outcome.reason });
      return;
    }
    try {
      uplink.send(ackOf(reply));
    } catch { /* not connected any more: the cloud resends, and the answer is stored below anyway */ }
    const object = outcome.object as { metadata?: { resourceVersion?: string } } | null;
    if (typeof object !== "object" || object === null) return;
    held.delete(resource);
    apply(newMessage({
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource,
      content: object,
      ...(object.metadata?.resourceVersion ? { resourceVersion: object.metadata.resourceVersion } : {}),
    }));
  };
}
