/**
 * MetaServer Applications (lib/protocol/application.ts) as KubeEdge's dynamiccontroller answers them, for the
 * one kind this cloud serves: reading Services (verb get or list, key /core/v1/services/<ns>/<name|null>).
 * The edge's kubelet part builds a container's service environment variables from them (enableServiceLinks)
 * and a KubeEdge edge's MetaServer gets its `services` reads answered. Like upstream, the answer comes from
 * the apiserver at the time of asking (no informer: no memory held for Services between requests).
 * Reads of the same thing within SHARE_MS share one apiserver call, so many edges starting pods in one namespace
 * (or one edge asking in a loop) cost the apiserver at most one list per namespace and second.
 * Authorization is stricter than upstream's (which lets any node read every Service, as the kubelet's RBAC
 * role does): see authorize.ts `authorizeServiceRead`. Every other Application is Rejected with 405.
 */
import { Buffer } from "node:buffer";
import type { Counter } from "../../lib/metrics.ts";
import {
  type Application,
  applicationResponse,
  type Message,
  parseApplicationKey,
  readApplication,
} from "../../lib/protocol/mod.ts";
import { apiFailureStatus, RAW } from "./api_calls.ts";
import { type AuthorizationView, authorizeServiceRead } from "./authorize.ts";
import type { RequestDeps } from "./edge_request.ts";
import { withKinds } from "./informers.ts";

/** How long an apiserver answer is shared by the reads of the same key. */
export const SHARE_MS = 1_000;
/** Most answers kept for sharing (older ones go first). */
const MAX_SHARED = 1_000;

export type ApplicationHandler = (node: string, message: Message) => Promise<Message>;

export function createApplicationHandler(
  deps: RequestDeps,
  view: AuthorizationView,
  denied: Counter,
): ApplicationHandler {
  const shared = new Map<string, { readonly at: number; readonly answer: Promise<unknown> }>();
  const read = (key: string, call: () => Promise<unknown>): Promise<unknown> => {
    const now = Date.now();
    const held = shared.get(key);
    if (held && now - held.at < SHARE_MS) return held.answer;
    const answer = call();
    shared.delete(key);
    shared.set(key, { at: now, answer });
    // A failed call is not shared beyond the requests already waiting on it.
    answer.catch(() => shared.get(key)?.answer === answer && shared.delete(key));
    for (const [k, entry] of shared) {
      if (shared.size <= MAX_SHARED && now - entry.at < SHARE_MS) break;
      shared.delete(k);
    }
    return answer;
  };
  return (node, message) => handleApplication(deps, view, denied, read, node, message);
}

async function handleApplication(
  deps: RequestDeps,
  view: AuthorizationView,
  denied: Counter,
  read: (key: string, call: () => Promise<unknown>) => Promise<unknown>,
  node: string,
  message: Message,
): Promise<Message> {
  const log = deps.log;
  const parsed = readApplication(message.content);
  if (!parsed.success) {
    log.warn("edge request invalid", {
      node,
      operation: "application",
      why: "content is not an Application",
    });
    const empty: Application = {
      ID: "",
      Key: "",
      Verb: "",
      Nodename: node,
      Subresource: "",
      Status: "",
      Reason: "",
    };
    return reject(
      message,
      empty,
      400,
      "BadRequest",
      "Cannot read the application: content is not an Application",
    );
  }
  const app = parsed.output;
  const key = parseApplicationKey(app.Key);
  const fields = { node, operation: "application", verb: app.Verb.slice(0, 20), key: app.Key.slice(0, 300) };
  /** Logged, counted by reason, and answered Rejected with the status. */
  const deny = (reason: string, code: number, status: string, text: string, detail?: string) => {
    log.warn("edge request denied", { ...fields, reason, ...(detail === undefined ? {} : { detail }) });
    denied.inc({ operation: "application", reason });
    return reject(message, app, code, status, text);
  };
  if (app.Nodename !== "" && app.Nodename !== node) {
    return deny(
      "other_node",
      403,
      "Forbidden",
      `Cannot apply: node ${node} cannot act for node ${app.Nodename}`,
    );
  }
  const isServiceRead = key !== undefined && key.group === "" && key.version === "v1" &&
    key.resource === "services" && app.Subresource === "" && key.namespace !== "" &&
    ((app.Verb === "get" && key.name !== "") || (app.Verb === "list" && key.name === ""));
  if (!key || !isServiceRead) {
    return deny(
      "unsupported",
      405,
      "MethodNotAllowed",
      `Cannot ${app.Verb} ${app.Key}: this cloud answers only get and list of services`,
    );
  }
  const decision = authorizeServiceRead(node, key.namespace, key.name, view);
  if (!decision.allowed) {
    return deny(
      decision.reason,
      403,
      "Forbidden",
      `Cannot ${app.Verb} ${app.Key}: forbidden: ${decision.detail}`,
      decision.detail,
    );
  }
  try {
    if (app.Verb === "get") {
      const service = await read(`get ${key.namespace}/${key.name}`, async () => {
        const info = await deps.core.readNamespacedServiceWithHttpInfo(
          { namespace: key.namespace, name: key.name },
          RAW,
        );
        const object = JSON.parse(await info.body.text()) as Record<string, unknown>;
        object.apiVersion ??= "v1";
        object.kind ??= "Service";
        return object;
      });
      return applicationResponse(message, app, { body: service });
    }
    const selectors = listSelectors(app.Option);
    const readKey = `list ${key.namespace} ${selectors.labelSelector ?? ""} ${selectors.fieldSelector ?? ""}`;
    const list = await read(readKey, async () => {
      const info = await deps.core.listNamespacedServiceWithHttpInfo(
        { namespace: key.namespace, ...selectors },
        RAW,
      );
      return withKinds(JSON.parse(await info.body.text()), "Service", "v1");
    });
    return applicationResponse(message, app, { body: list });
  } catch (error) {
    const status = apiFailureStatus(error, `${app.Verb} ${app.Key}`);
    if (status.code !== 404) log.warn("edge request failed", { ...fields, why: status.message });
    return applicationResponse(message, app, { errStatus: { status: "Failure", ...status } });
  }
}

function reject(message: Message, app: Application, code: number, reason: string, text: string): Message {
  return applicationResponse(message, app, { errStatus: { status: "Failure", message: text, reason, code } });
}

/** labelSelector and fieldSelector of the ListOptions an Application carries (base64 JSON), when strings. */
function listSelectors(
  option: string | null | undefined,
): { labelSelector?: string; fieldSelector?: string } {
  if (!option) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(option, "base64").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) return {};
    const { labelSelector, fieldSelector } = parsed as Record<string, unknown>;
    return {
      ...(typeof labelSelector === "string" && labelSelector ? { labelSelector } : {}),
      ...(typeof fieldSelector === "string" && fieldSelector ? { fieldSelector } : {}),
    };
  } catch {
    return {};
  }
}
