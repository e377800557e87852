/**
 * handleEdgeRequest: every message a node sends that is not a reply. Order: content size limit, then
 * authorization (from the caches; a denial never reaches the apiserver), then the handler. Each outcome is
 * one `response`: the result, or a failure Status (code, reason, "Cannot X: why") in upstream's ObjectResp.
 */
import type { Logger } from "../../lib/log.ts";
import type { Counter } from "../../lib/metrics.ts";
import {
  isApplicationRequest,
  isKnownOperation,
  type Message,
  newMessage,
  utf8ByteLength,
} from "../../lib/protocol/mod.ts";
import { createApplicationHandler } from "./application_requests.ts";
import { apiFailureStatus } from "./api_calls.ts";
import { type AuthorizationView, authorize, type DenyReason } from "./authorize.ts";
import { classifyRequest, type EdgeRequest, EdgeRequestError, type RequestDeps } from "./edge_request.ts";
import { createEvent } from "./event_requests.ts";
import { patchNodeStatus, queryLease, registerNode, renewLease } from "./node_requests.ts";
import { deletePod, patchPodStatus } from "./pod_requests.ts";
import { queryObject } from "./query_requests.ts";
import { requestServiceAccountToken } from "./token_requests.ts";
import { failureResponse } from "./replies.ts";
import type { Resync } from "./resync.ts";
import { MAX_SYNC_REPORT_BYTES, parseSyncReport } from "./sync_report.ts";

/** Largest request content in UTF-8 bytes of its JSON (a node status with 50 images is about 20 KiB). */
export const MAX_REQUEST_CONTENT_BYTES = 1024 * 1024;

export interface EdgeRequestOptions {
  readonly deps: RequestDeps;
  readonly view: AuthorizationView;
  readonly resync: Resync;
  /** kedge_cloud_denied_requests_total{operation,reason}. */
  readonly denied: Counter;
  /** Resolves true once the caches authorization reads have listed, false when stopping. */
  readonly synced: () => Promise<boolean>;
}

export type EdgeRequestHandler = (node: string, message: Message) => Promise<Message | undefined>;

export function createEdgeRequestHandler(o: EdgeRequestOptions): EdgeRequestHandler {
  const log = o.deps.log;
  const handleApplication = createApplicationHandler(o.deps, o.view, o.denied);
  return async (node, message) => {
    const { operation, resource } = message.route;
    // A reply is never answered; acks and keepalives are the hub's.
    if (operation === "response" || operation === "error") return undefined;
    const fields = { node, operation: label(operation), resource: resource.slice(0, 300) };
    const request = isApplicationRequest(message)
      ? { kind: "application" as const }
      : classifyRequest(message);
    if (!request) {
      return deny(log, o.denied, message, fields, "unsupported", "the cloud serves no such request");
    }
    const limit = request.kind === "syncReport" ? MAX_SYNC_REPORT_BYTES : MAX_REQUEST_CONTENT_BYTES;
    const bytes = contentBytes(message.content, limit);
    if (bytes > limit) {
      log.warn("edge request invalid", { ...fields, why: "content too large", bytes, limit });
      return failureResponse(message, {
        code: 413,
        reason: "RequestEntityTooLarge",
        message:
          `Cannot ${fields.operation} ${fields.resource}: content has ${bytes} bytes, the limit is ${limit}`,
      });
    }
    if (!await o.synced()) {
      return failureResponse(message, {
        code: 503,
        reason: "ServiceUnavailable",
        message: `Cannot ${fields.operation} ${fields.resource}: cloudcore is stopping`,
      });
    }
    if (request.kind === "application") {
      return await handleApplication(node, message);
    }
    try {
      const decision = authorize(node, request, message.content, o.view);
      if (!decision.allowed) return deny(log, o.denied, message, fields, decision.reason, decision.detail);
      return await execute(o, node, request, message);
    } catch (error) {
      if (error instanceof EdgeRequestError) {
        log.warn("edge request invalid", { ...fields, why: error.message });
        return failureResponse(message, { code: 400, reason: "BadRequest", message: error.message });
      }
      const status = apiFailureStatus(error, `${fields.operation} ${fields.resource}`);
      log.warn("edge request failed", { ...fields, why: status.message });
      return failureResponse(message, status);
    }
  };
}

async function execute(
  o: EdgeRequestOptions,
  node: string,
  request: EdgeRequest,
  message: Message,
): Promise<Message> {
  const { deps } = o;
  switch (request.kind) {
    case "registerNode":
      return await registerNode(deps, node, message);
    case "patchNodeStatus":
      return await patchNodeStatus(deps, node, message);
    case "renewLease":
      return await renewLease(deps, node, message);
    case "queryLease":
      return await queryLease(deps, node, message);
    case "patchPodStatus":
      return await patchPodStatus(deps, request.namespace, request.name, message);
    case "deletePod":
      return await deletePod(deps, request.namespace, request.name, message);
    case "createEvent":
      return await createEvent(deps, request.namespace, request.name, message);
    case "query":
      return queryObject(deps, request.type, request.namespace, request.name, message);
    case "serviceAccountToken":
      return await requestServiceAccountToken(deps, request.namespace, request.name, message);
    case "syncReport": {
      const report = parseSyncReport(message.content);
      if (!report.ok) throw new EdgeRequestError(`Cannot read the sync report: ${report.why}`);
      const outcome = await o.resync.report(node, report.objects);
      if (!outcome) throw new EdgeRequestError("Cannot resync: cloudcore is stopping");
      return newMessage({
        source: message.route.source,
        group: "resource",
        operation: "response",
        resource: message.route.resource,
        content: { Object: outcome, Err: null },
        parentId: message.header.msg_id,
      });
    }
  }
}

function deny(
  log: Logger,
  denied: Counter,
  message: Message,
  fields: { node: string; operation: string; resource: string },
  reason: DenyReason,
  detail: string,
): Message {
  log.warn("edge request denied", { ...fields, reason, detail });
  denied.inc({ operation: fields.operation, reason });
  return failureResponse(message, {
    code: 403,
    reason: "Forbidden",
    message: `Cannot ${fields.operation} ${fields.resource}: forbidden: ${detail}`,
  });
}

/** Known operations as they are; anything else as "other", so a peer cannot grow the metric's label set. */
function label(operation: string): string {
  return isKnownOperation(operation) ? operation : "other";
}

/** UTF-8 bytes of the content's JSON; stops measuring a string once it is clearly over `limit`. */
function contentBytes(content: unknown, limit: number): number {
  if (content === undefined || content === null) return 0;
  const json = typeof content === "string" ? content : JSON.stringify(content);
  return json.length > limit ? json.length : utf8ByteLength(json);
}
