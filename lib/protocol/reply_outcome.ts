/**
 * What a reply to an edge request says, in either dialect: kedge's hub (and an older kedge cloud) answers a
 * failure with operation `error` and a reason string; KubeEdge's cloud and kedge's controllers answer
 * `response` with `{"Object": ..., "Err": {"ErrStatus":
 * {reason, code, message}}}` (or `"Err": {}` for a plain Go error), a pod delete with `"OK"` or a Status,
 * and a failed ConfigMap, Secret or token query with the bare error: `{"ErrStatus": {...}}`.
 */
import type { Message } from "./types.ts";

export type ReplyOutcome =
  | { readonly ok: true; readonly object: unknown }
  | { readonly ok: false; readonly reason: string; readonly statusReason?: string; readonly code?: number };

export function replyOutcome(reply: Message): ReplyOutcome {
  const content = reply.content;
  if (reply.route.operation === "error") {
    return { ok: false, reason: typeof content === "string" ? content : JSON.stringify(content) };
  }
  if (isObject(content) && isObject(content.ErrStatus) && !("metadata" in content)) {
    return failure(content);
  }
  if (!isObject(content) || !("Err" in content)) return { ok: true, object: content };
  const err = content.Err;
  if (err === null || err === undefined) return { ok: true, object: content.Object };
  return failure(err);
}

/** The outcome of a Go error as upstream marshals it: a StatusError's `{"ErrStatus": ...}`, or `{}`. */
function failure(err: unknown): ReplyOutcome {
  const status = isObject(err) && isObject(err.ErrStatus) ? err.ErrStatus : undefined;
  const text = (v: unknown) => typeof v === "string" ? v : undefined;
  return {
    ok: false,
    reason: text(status?.message) ?? JSON.stringify(err).slice(0, 500),
    statusReason: text(status?.reason),
    code: typeof status?.code === "number" ? status.code : undefined,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
