/**
 * Events an edge records (`insert <ns>/event/<name>`) about its Node or its pods; authorization has checked
 * what the event is about. Server-set metadata from the edge is dropped.
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";
import { RAW, rawBody } from "./api_calls.ts";
import { contentObject, type RequestDeps } from "./edge_request.ts";
import { objectResponse } from "./replies.ts";

export async function createEvent(
  deps: RequestDeps,
  namespace: string,
  name: string,
  request: Message,
): Promise<Message> {
  const event = contentObject(request.content, "event") as unknown as CoreV1Event;
  const body: CoreV1Event = {
    ...event,
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name,
      namespace,
      ...(event.metadata?.labels ? { labels: event.metadata.labels } : {}),
      ...(event.metadata?.annotations ? { annotations: event.metadata.annotations } : {}),
    },
  };
  const created = await rawBody<CoreV1Event>(
    await deps.core.createNamespacedEventWithHttpInfo({ namespace, body }, RAW),
  );
  return objectResponse(request, created);
}
