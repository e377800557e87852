/**
 * What edges send the device controller: reported twins (`update device/<ns>/<name>/twin/edge_updated`)
 * and device state (`update device/<ns>/<name>/state/update`), served only for Devices bound to the sending
 * node, and MQTT uploads (group "user"). Each report is one reply: `response` "OK" once the status writer
 * holds it (or wrote it), else `error` with a "Cannot X: why" reason.
 */
import * as v from "valibot";
import type { Logger } from "../../lib/log.ts";
import type { Counter } from "../../lib/metrics.ts";
import {
  errorTo,
  isKnownOperation,
  type Message,
  parseResource,
  responseTo,
  TWIN_EDGE_UPDATED,
} from "../../lib/protocol/mod.ts";
import {
  StateReportSchema,
  statusFromStateReport,
  statusFromTwinReport,
  type StatusUpdate,
  TwinReportSchema,
} from "./wire.ts";

/** Largest report content accepted, in bytes of its JSON. */
export const MAX_DEVICE_REPORT_BYTES = 256 * 1024;

/** Metric label values: a closed set. */
export type DeviceDenyReason = "device_not_bound" | "other_node" | "unsupported";

export interface EdgeReportDeps {
  readonly log: Logger;
  /** {operation, reason} of each denial. */
  readonly denied: Counter;
  /** {kind} of each accepted report. */
  readonly reports: Counter;
  readonly userMessages: Counter;
  /** Resolves true once the device cache has listed, false when stopping. */
  readonly synced: () => Promise<boolean>;
  /** spec.nodeName of Device `<ns>/<name>`, or undefined when there is no such Device. */
  readonly boundNode: (key: string) => string | undefined;
  readonly submit: (key: string, update: StatusUpdate) => Promise<void>;
}

/** Whether `message` is for the device controller: twin or user group, or a device/membership resource. */
export function isDeviceMessage(message: Message): boolean {
  const { group, resource } = message.route;
  if (group === "twin" || group === "user") return true;
  const parsed = parseResource(resource);
  return parsed.ok && parsed.value.kind !== "object";
}

export function createEdgeReportHandler(deps: EdgeReportDeps) {
  const { log } = deps;
  const deny = (node: string, message: Message, reason: DeviceDenyReason, detail: string): Message => {
    const operation = isKnownOperation(message.route.operation) ? message.route.operation : "other";
    const resource = message.route.resource.slice(0, 300);
    log.warn("edge request denied", { node, operation, resource, reason, detail });
    deps.denied.inc({ operation, reason });
    return errorTo(message, `Cannot ${operation} ${resource}: forbidden: ${detail}`);
  };

  return async (node: string, message: Message): Promise<Message | undefined> => {
    const { operation, group } = message.route;
    const resource = message.route.resource.slice(0, 300);
    if (operation === "response" || operation === "error") return undefined;
    if (group === "user") {
      // Other MQTT uploads from the box (source eventbus); the Router takes those of its rule topics (source
      // bus, cloud/router) before they get here, with the Router off these are only counted.
      deps.userMessages.inc();
      log.debug("user message from edge", { node, topic: resource });
      return undefined;
    }
    const parsed = parseResource(message.route.resource);
    if (!parsed.ok) return deny(node, message, "unsupported", "not a device resource");
    const target = parsed.value;
    if (target.node !== undefined && target.node !== node) {
      return deny(node, message, "other_node", `node ${node} cannot act for node ${target.node}`);
    }
    let kind: "twin" | "state";
    if (target.kind === "twin" && target.event === TWIN_EDGE_UPDATED && operation === "update") kind = "twin";
    else if (
      target.kind === "device" && (target.subresource === "state/update" || target.subresource === "state") &&
      operation === "update"
    ) kind = "state";
    else return deny(node, message, "unsupported", "the cloud serves no such device request");

    const json = typeof message.content === "string"
      ? message.content
      : JSON.stringify(message.content ?? null);
    if (json.length > MAX_DEVICE_REPORT_BYTES) {
      return errorTo(
        message,
        `Cannot update ${resource}: content is larger than ${MAX_DEVICE_REPORT_BYTES} bytes`,
      );
    }
    if (!await deps.synced()) return errorTo(message, `Cannot update ${resource}: cloudcore is stopping`);
    const key = `${target.namespace}/${target.name}`;
    if (deps.boundNode(key) !== node) {
      return deny(node, message, "device_not_bound", `device ${key} is not bound to node ${node}`);
    }
    const update = readReport(kind, message.content);
    if (typeof update === "string") return errorTo(message, `Cannot update ${resource}: ${update}`);
    deps.reports.inc({ kind });
    try {
      // Acknowledged only once the status write holding it succeeded: until then the edge keeps the report.
      await deps.submit(key, update);
    } catch (error) {
      return errorTo(message, `Cannot update ${resource}: ${(error as Error).message}`);
    }
    return responseTo(message, "OK");
  };
}

/** The status change a report makes, or why its content is not a report. */
function readReport(kind: "twin" | "state", raw: unknown): StatusUpdate | string {
  let content = raw;
  if (typeof content === "string") {
    try {
      content = JSON.parse(content);
    } catch {
      return "content is a string that is not JSON";
    }
  }
  if (kind === "twin") {
    const report = v.safeParse(TwinReportSchema, content);
    return report.success
      ? statusFromTwinReport(report.output, Date.now())
      : v.summarize(report.issues).slice(0, 500);
  }
  const report = v.safeParse(StateReportSchema, content);
  return report.success ? statusFromStateReport(report.output) : v.summarize(report.issues).slice(0, 500);
}
