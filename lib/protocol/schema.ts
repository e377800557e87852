/**
 * valibot schemas for the envelope, applied to every decoded frame (and every encoded one, so we never
 * send what a strict peer would refuse). Unknown keys are dropped rather than refused: upstream versions
 * have carried extra header fields, and refusing them would break compatibility for no safety gain.
 */
import * as v from "valibot";
import { MAX_RESOURCE_LENGTH } from "./resource.ts";
import { MAX_RESOURCE_VERSION_LENGTH } from "./resource_version.ts";
import type { Header, Message } from "./types.ts";

/** msg_id and parent_msg_id: upstream sends UUIDs (36 characters). */
export const MAX_ID_LENGTH = 128;
/** source, group and operation. */
export const MAX_TOKEN_LENGTH = 128;

// Visible ASCII without spaces: every upstream token looks like this, and it keeps logs clean.
const VISIBLE_ASCII = /^[\x21-\x7e]*$/;
const DIGITS = /^[0-9]*$/;

function token(what: string, max: number) {
  return v.pipe(
    v.string(),
    v.maxLength(max, `${what} is longer than ${max} characters`),
    v.regex(VISIBLE_ASCII, `${what} must be visible ASCII without spaces`),
  );
}

function requiredToken(what: string, max: number) {
  return v.pipe(token(what, max), v.nonEmpty(`${what} must not be empty`));
}

// Go's omitempty leaves empty values out; a peer that writes them anyway means the same, so drop them.
function compactHeader(header: {
  msg_id: string;
  parent_msg_id?: string;
  timestamp: number;
  resourceversion?: string;
  sync?: boolean;
}): Header {
  return {
    msg_id: header.msg_id,
    ...(header.parent_msg_id ? { parent_msg_id: header.parent_msg_id } : {}),
    timestamp: header.timestamp,
    ...(header.resourceversion ? { resourceversion: header.resourceversion } : {}),
    ...(header.sync ? { sync: true } : {}),
  };
}

export const HeaderSchema = v.pipe(
  v.object({
    msg_id: requiredToken("msg_id", MAX_ID_LENGTH),
    parent_msg_id: v.optional(token("parent_msg_id", MAX_ID_LENGTH)),
    timestamp: v.pipe(
      v.number(),
      v.safeInteger("timestamp must be an integer (unix milliseconds)"),
      v.minValue(0, "timestamp must not be negative"),
    ),
    resourceversion: v.optional(
      v.pipe(
        v.string(),
        v.maxLength(
          MAX_RESOURCE_VERSION_LENGTH,
          `resourceversion is longer than ${MAX_RESOURCE_VERSION_LENGTH} digits`,
        ),
        v.regex(DIGITS, "resourceversion must be a string of decimal digits"),
      ),
    ),
    sync: v.optional(v.boolean()),
  }),
  v.transform(compactHeader),
);

/**
 * Group and operation must be present: nothing can be routed without them. Source and resource default to
 * "" because Go peers omit empty route fields (omitempty) and Go readers treat absent as empty.
 */
export const RouteSchema = v.object({
  source: v.optional(token("source", MAX_TOKEN_LENGTH), ""),
  group: requiredToken("group", MAX_TOKEN_LENGTH),
  operation: requiredToken("operation", MAX_TOKEN_LENGTH),
  resource: v.optional(
    v.pipe(
      v.string(),
      v.maxLength(MAX_RESOURCE_LENGTH, `resource is longer than ${MAX_RESOURCE_LENGTH} characters`),
    ),
    "",
  ),
});

/**
 * KubeEdge's edgecore answers a ServiceBus call it could not make with no operation at all
 * (edge/pkg/servicebus `buildErrorResponse`): such an answer (source `servicebus`, group `user`, naming its
 * call in parent_msg_id) is read as the `upload` its other answers are. Nothing else may lack an operation.
 */
function serviceBusErrorAnswer(input: unknown): unknown {
  if (typeof input !== "object" || input === null) return input;
  const { header, route } = input as {
    header?: { parent_msg_id?: unknown };
    route?: Record<string, unknown>;
  };
  if (
    route && (route.operation === undefined || route.operation === "") && route.source === "servicebus" &&
    route.group === "user" && typeof header?.parent_msg_id === "string" && header.parent_msg_id !== ""
  ) {
    return { ...input, route: { ...route, operation: "upload" } };
  }
  return input;
}

/** Content stays `unknown` here: each handler validates the content it expects. Absent means null, as in Go. */
export const MessageSchema: v.GenericSchema<unknown, Message> = v.pipe(
  v.unknown(),
  v.transform(serviceBusErrorAnswer),
  v.object({
    header: HeaderSchema,
    route: RouteSchema,
    content: v.optional(v.unknown(), null),
  }),
);

/** Every issue as `path: message`, joined with "; " (the root path reads "(root)"). */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues.map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`).join("; ");
}
