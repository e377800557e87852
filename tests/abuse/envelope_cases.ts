/**
 * Envelopes with one field replaced by `null` or by a value of the wrong type, for every field the envelope
 * types, and frames that are JSON but no envelope at all. `content` is not among them: the envelope leaves
 * it untyped (absent means null) and each handler validates the content it expects.
 */
import { MAX_ID_LENGTH, MAX_RESOURCE_LENGTH, MAX_TOKEN_LENGTH } from "../../lib/protocol/mod.ts";

export interface EnvelopeCase {
  readonly field: string;
  readonly frame: unknown;
  /** The frame's msg_id when the hub can read it, and so answers with an error reply. */
  readonly msgId?: string;
}

const HEADER_FIELDS = ["msg_id", "parent_msg_id", "timestamp", "resourceversion", "sync"];

const WRONG: Record<string, unknown[]> = {
  header: [null, "x", 5, [], true],
  route: [null, "x", 5, [], true],
  msg_id: [null, 5, "", {}, [], "has space", "x".repeat(MAX_ID_LENGTH + 1)],
  parent_msg_id: [null, 5, {}, [], "has space"],
  timestamp: [null, "1", 1.5, -1, 2 ** 60, {}, true],
  resourceversion: [null, 5, "abc", {}],
  sync: [null, "true", 1],
  source: [null, 5, {}, "has space"],
  group: [null, 5, "", {}],
  operation: [null, 5, "", {}, "x".repeat(MAX_TOKEN_LENGTH + 1)],
  resource: [null, 5, {}, [], "x".repeat(MAX_RESOURCE_LENGTH + 1)],
};

export function envelopeCases(): EnvelopeCase[] {
  const cases: EnvelopeCase[] = [];
  let n = 0;
  for (const [field, values] of Object.entries(WRONG)) {
    for (const value of values) {
      const msgId = `bad-${n++}`;
      const header: Record<string, unknown> = { msg_id: msgId, timestamp: Date.now() };
      const route: Record<string, unknown> = {
        source: "edged",
        group: "meta",
        operation: "query",
        resource: "default/configmap/x",
      };
      if (HEADER_FIELDS.includes(field)) header[field] = value;
      else if (field !== "header" && field !== "route") route[field] = value;
      const frame = {
        header: field === "header" ? value : header,
        route: field === "route" ? value : route,
        content: null,
      };
      const usableId = field !== "header" && field !== "msg_id";
      cases.push({ field, frame, msgId: usableId ? msgId : undefined });
    }
  }
  for (const frame of [null, 5, "x", [], {}]) cases.push({ field: "(frame)", frame });
  return cases;
}
