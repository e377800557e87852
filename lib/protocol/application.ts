/**
 * KubeEdge's MetaServer "Application": how an edge asks its cloud for a Kubernetes read or write it cannot
 * answer locally (pkg/metaserver/application.go; edge side edge/pkg/metamanager/metaserver/agent/agent.go,
 * cloud side cloud/pkg/dynamiccontroller/application/application.go, KubeEdge v1.23.1). The request goes up
 * with route source "metaserver", group "dynamiccontroller", resource "null", operation "null", and the
 * Application as content; the cloud answers with source "dynamiccontroller", group "resource", operation
 * "applicationResponse", resource "ignore/Application/ignore", parent_msg_id = the request's id, and the
 * Application with Status "Approved" (RespBody = the apiserver's JSON) or "Rejected" (Error = a StatusError).
 * The struct has no JSON tags, so its keys are Go's field names; []byte fields are base64 (null when nil).
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import * as v from "valibot";
import { newMessage } from "./message.ts";
import type { Message } from "./types.ts";

export const APPLICATION_SOURCE = "metaserver";
export const APPLICATION_GROUP = "dynamiccontroller";
/** The request's resource and operation (upstream's `SetResourceOperation("null", "null")`). */
export const APPLICATION_REQUEST_RESOURCE = "null";
export const APPLICATION_REQUEST_OPERATION = "null";
export const APPLICATION_RESPONSE_OPERATION = "applicationResponse";
/** Upstream's BuildResource(node, "ignore", "Application", "ignore") on the wire (no node prefix). */
export const APPLICATION_RESPONSE_RESOURCE = "ignore/Application/ignore";
/** The resource of the MetaServer's watch-application sync, which this project does not serve. */
export const WATCH_APP_SYNC_RESOURCE = "watchapp/sync";

/** Go's zero time.Time as encoding/json writes it. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export type ApplicationStatus =
  | "PreApplying"
  | "InApplying"
  | "InProcessing"
  | "Approved"
  | "Rejected"
  | "Failed";

/** Largest Key, Nodename, Subresource or Reason this side reads. */
const MAX_FIELD = 1024;
/** Largest base64 Option or ReqBody a request may carry (a request body of 1 MiB, as other edge requests). */
const MAX_BASE64 = 1_400_000;

const bytesField = v.nullish(v.pipe(v.string(), v.maxLength(MAX_BASE64)));

/** The fields of an Application a peer sends; anything else is dropped. */
export const ApplicationSchema = v.object({
  ID: v.optional(v.pipe(v.string(), v.maxLength(MAX_FIELD)), ""),
  Key: v.pipe(v.string(), v.maxLength(MAX_FIELD)),
  Verb: v.pipe(v.string(), v.maxLength(64)),
  Nodename: v.optional(v.pipe(v.string(), v.maxLength(MAX_FIELD)), ""),
  Option: bytesField,
  ReqBody: bytesField,
  Subresource: v.optional(v.pipe(v.string(), v.maxLength(MAX_FIELD)), ""),
  RespBody: v.nullish(v.string()),
  Status: v.optional(v.pipe(v.string(), v.maxLength(64)), ""),
  Reason: v.optional(v.string(), ""),
  Error: v.optional(v.unknown()),
});

export type Application = v.InferOutput<typeof ApplicationSchema>;

/** True for a message that carries an Application request (not the watch-application sync). */
export function isApplicationRequest(message: Message): boolean {
  return message.route.source === APPLICATION_SOURCE && message.route.group === APPLICATION_GROUP &&
    message.route.resource !== WATCH_APP_SYNC_RESOURCE;
}

/** Reads an Application from message content (an object, or a JSON string of one). */
export function readApplication(content: unknown): v.SafeParseResult<typeof ApplicationSchema> {
  let value = content;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      value = undefined;
    }
  }
  return v.safeParse(ApplicationSchema, value);
}

/** `/<group>/<version>/<resource>/<namespace>/<name>`, "core" for the legacy group, "null" when empty (key.go). */
export function applicationKey(
  group: string,
  version: string,
  resource: string,
  namespace: string,
  name: string,
): string {
  return `/${group || "core"}/${version}/${resource}/${namespace || "null"}/${name || "null"}`;
}

export interface ParsedKey {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

/** Upstream's ParseKey for the five-part form; undefined for anything else. */
export function parseApplicationKey(key: string): ParsedKey | undefined {
  const parts = key.replace(/\/+$/, "").split("/");
  if (parts.length !== 6 || parts[0] !== "") return undefined;
  const [, group = "", version = "", resource = "", namespace = "", name = ""] = parts;
  if (!version || !resource) return undefined;
  return {
    group: group === "core" ? "" : group,
    version,
    resource,
    namespace: namespace === "null" ? "" : namespace,
    name: name === "null" ? "" : name,
  };
}

/** The edge's request for `verb` on `key`, as upstream's agent builds it (ID = its Identifier()). */
export function applicationRequest(
  node: string,
  verb: "get" | "list",
  key: string,
): Message<Record<string, unknown>> {
  const option = Buffer.from(JSON.stringify({}));
  const id = createHash("sha256").update(node).update(key).update(verb).update(option).digest("hex");
  const app: Application = {
    ID: id,
    Key: key,
    Verb: verb,
    Nodename: node,
    Option: option.toString("base64"),
    ReqBody: null,
    Subresource: "",
    RespBody: null,
    Status: "InApplying",
    Reason: "",
    Error: { ErrStatus: { metadata: {} } },
  };
  const base = newMessage({
    source: APPLICATION_SOURCE,
    group: "meta",
    operation: "query",
    resource: "",
    content: null,
  });
  return {
    header: base.header,
    route: {
      source: APPLICATION_SOURCE,
      group: APPLICATION_GROUP,
      operation: APPLICATION_REQUEST_OPERATION,
      resource: APPLICATION_REQUEST_RESOURCE,
    },
    content: { ...app, Timestamp: ZERO_TIME },
  };
}

/** The cloud's answer: Approved with `body` as RespBody, or Rejected with `errStatus` as the StatusError. */
export function applicationResponse(
  request: Message,
  app: Application,
  outcome: { readonly body: unknown } | { readonly errStatus: Readonly<Record<string, unknown>> },
): Message<Record<string, unknown>> {
  const approved = "body" in outcome;
  const content = {
    ...app,
    Status: approved ? "Approved" : "Rejected",
    RespBody: approved ? Buffer.from(JSON.stringify(outcome.body)).toString("base64") : null,
    Error: { ErrStatus: approved ? { metadata: {} } : { metadata: {}, ...outcome.errStatus } },
    Timestamp: ZERO_TIME,
  };
  const base = newMessage({
    source: "dynamiccontroller",
    group: "resource",
    operation: "response",
    resource: APPLICATION_RESPONSE_RESOURCE,
    content,
    parentId: request.header.msg_id,
  });
  return { ...base, route: { ...base.route, operation: APPLICATION_RESPONSE_OPERATION } };
}

export type ApplicationOutcome =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly reason: string; readonly code?: number };

/** What an answer to an Application says: the RespBody's JSON when Approved, else why not. */
export function applicationOutcome(reply: Message): ApplicationOutcome {
  const parsed = readApplication(reply.content);
  if (!parsed.success) {
    return { ok: false, reason: `the reply is not an Application (operation ${reply.route.operation})` };
  }
  const app = parsed.output;
  if (app.Status !== "Approved") {
    const status = (app.Error as { ErrStatus?: { message?: unknown; code?: unknown } } | undefined)
      ?.ErrStatus;
    const message = typeof status?.message === "string" && status.message ? status.message : app.Reason;
    return {
      ok: false,
      reason: `${app.Status || "no status"}: ${message || "no reason given"}`.slice(0, 500),
      ...(typeof status?.code === "number" ? { code: status.code } : {}),
    };
  }
  if (!app.RespBody) return { ok: true, body: null };
  try {
    return { ok: true, body: JSON.parse(Buffer.from(app.RespBody, "base64").toString("utf8")) };
  } catch {
    return { ok: false, reason: "Approved, but RespBody is not base64 JSON" };
  }
}
