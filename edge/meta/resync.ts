// On every (re)connect the edge tells the cloud what it holds (uid -> resourceVersion, with the resource
// key) and the cloud sends the difference: see docs/resync.md. Nothing depends on a queue a restart loses.
import { buildResource, newMessage, replyOutcome } from "../../lib/protocol/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { EdgeStore } from "../store/mod.ts";
import type { Uplink } from "./upstream.ts";

/** The cloud refuses larger reports (docs/resync.md); beyond it the cloud's full sync repairs the rest. */
export const MAX_REPORT_ENTRIES = 10_000;

export async function reportHoldings(
  store: EdgeStore,
  uplink: Uplink,
  nodeName: string,
  log: Logger,
): Promise<void> {
  const objects = store.holdings();
  if (objects.length > MAX_REPORT_ENTRIES) {
    log.warn("holdings report truncated", { held: objects.length, sent: MAX_REPORT_ENTRIES });
  }
  const resource = buildResource({ namespace: null, type: "objectsync", name: nodeName });
  const reply = await uplink.request(
    newMessage({
      source: "edgehub",
      group: "resource",
      operation: "update",
      resource,
      content: { objects: objects.slice(0, MAX_REPORT_ENTRIES) },
    }),
    30_000,
  );
  const outcome = replyOutcome(reply);
  if (!outcome.ok) throw new Error(`Cannot resync: ${outcome.reason}`);
  log.info("holdings reported", { objects: objects.length, answer: reply.content });
}
