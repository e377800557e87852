/** Helpers for raw frames: bytes from ws events, and the error reply to a frame that failed decoding. */
import { MAX_ID_LENGTH, type Message } from "../../lib/protocol/mod.ts";

export { toFrame } from "../../lib/protocol/mod.ts";

/** The msg_id of a frame that is JSON but not a valid message, when it has a usable one. */
export function idOf(frame: Uint8Array): string | undefined {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(frame));
    const header = (json as { header?: { msg_id?: unknown } } | null)?.header;
    const id = header?.msg_id;
    return typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH && /^[\x21-\x7e]+$/.test(id)
      ? id
      : undefined;
  } catch {
    return undefined;
  }
}

export function rejection(parentId: string, why: string): Message<string> {
  return {
    header: { msg_id: crypto.randomUUID(), parent_msg_id: parentId, timestamp: Date.now() },
    route: { source: "cloudhub", group: "resource", operation: "error", resource: "" },
    content: why.slice(0, 1024),
  };
}
