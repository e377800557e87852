/**
 * What an edge asks for, read from the message route: the request kinds the cloud serves, each with the
 * object it names. Anything else is unsupported (and denied).
 */
import type { CoordinationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Counter } from "../../lib/metrics.ts";
import { isKnownOperation, type Message, parseResource } from "../../lib/protocol/mod.ts";
import type { Caches } from "./informers.ts";
import type { OwnStatusWrites } from "./own_writes.ts";
import { SYNC_REPORT_OPERATION, SYNC_REPORT_TYPE } from "./sync_report.ts";

export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export type EdgeRequest =
  | { readonly kind: "registerNode"; readonly name: string }
  | { readonly kind: "patchNodeStatus"; readonly name: string }
  | { readonly kind: "renewLease"; readonly namespace: string; readonly name: string }
  | { readonly kind: "queryLease"; readonly namespace: string; readonly name: string }
  | { readonly kind: "patchPodStatus"; readonly namespace: string; readonly name: string }
  | { readonly kind: "deletePod"; readonly namespace: string; readonly name: string }
  | { readonly kind: "createEvent"; readonly namespace: string; readonly name: string }
  | {
    readonly kind: "query";
    readonly type: "configmap" | "secret";
    readonly namespace: string;
    readonly name: string;
  }
  | { readonly kind: "serviceAccountToken"; readonly namespace: string; readonly name: string }
  | { readonly kind: "syncReport"; readonly name: string };

/** A request whose content cannot be used: the edge gets an error reply naming `message`. */
export class EdgeRequestError extends Error {
  override readonly name = "EdgeRequestError";
}

/** Reads the request a message makes, or undefined when the cloud serves no such request. */
export function classifyRequest(message: Message): EdgeRequest | undefined {
  const { operation, resource } = message.route;
  if (!isKnownOperation(operation)) return undefined;
  const parsed = parseResource(resource);
  if (!parsed.ok || parsed.value.kind !== "object" || parsed.value.node !== undefined) return undefined;
  const { namespace, type, name } = parsed.value;
  if (name === undefined) return undefined;
  switch (type) {
    case "node":
      return operation === "insert" ? { kind: "registerNode", name } : undefined;
    case "nodepatch":
      return operation === "patch" ? { kind: "patchNodeStatus", name } : undefined;
    case SYNC_REPORT_TYPE:
      return operation === SYNC_REPORT_OPERATION && namespace === null
        ? { kind: "syncReport", name }
        : undefined;
  }
  if (namespace === null) return undefined;
  switch (type) {
    case "lease":
      if (operation === "query") return { kind: "queryLease", namespace, name };
      return operation === "update" || operation === "insert"
        ? { kind: "renewLease", namespace, name }
        : undefined;
    case "podpatch":
      return operation === "patch" ? { kind: "patchPodStatus", namespace, name } : undefined;
    case "pod":
      return operation === "delete" ? { kind: "deletePod", namespace, name } : undefined;
    case "event":
      return operation === "insert" ? { kind: "createEvent", namespace, name } : undefined;
    case "configmap":
    case "secret":
      return operation === "query" ? { kind: "query", type, namespace, name } : undefined;
    case "serviceaccounttoken":
      return operation === "query" ? { kind: "serviceAccountToken", namespace, name } : undefined;
  }
  return undefined;
}

/** Content as a JSON object: an object as sent, or a string holding one (upstream sends patches as strings). */
export function contentObject(content: unknown, what: string): Record<string, unknown> {
  let value = content;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new EdgeRequestError(`Cannot read ${what}: content is a string that is not JSON`);
    }
  }
  if (!isPlainObject(value)) throw new EdgeRequestError(`Cannot read ${what}: content is not a JSON object`);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What the request handlers use. */
export interface RequestDeps {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly caches: Caches;
  readonly log: Logger;
  /** kedge_cloud_unchanged_writes_skipped_total{kind}: writes not made because they would change nothing. */
  readonly unchangedWrites?: Counter;
  /** Pod status writes made for edges, so their watch events are not echoed back. */
  readonly ownWrites?: OwnStatusWrites;
  /**
   * cloudStream is on: the stream coordinator publishes every node's address and kubelet port, so an edge's
   * status patch may not set them (a KubeEdge edge's kubelet reports its own, 127.0.0.1 among them).
   */
  readonly streamEndpoints?: boolean;
}
