/**
 * The KubeEdge message envelope as it travels on the wire. Field names are the exact JSON keys
 * (`msg_id`, `parent_msg_id`, `resourceversion`, `route`), so encoding needs no renaming step.
 */

/**
 * Operations this project understands. Decode deliberately accepts any operation token instead of only
 * these: upstream modules (node upgrade jobs, task manager, newer releases) send their own strings, and
 * dropping such a frame at the socket would break a compatible peer. Handlers narrow with
 * {@link isKnownOperation} and then switch exhaustively over {@link Operation}.
 */
export const OPERATIONS = [
  "insert",
  "update",
  "patch",
  "delete",
  "query",
  "response",
  "error",
  "upload",
  "keepalive",
  "publish",
  "subscribe",
  "unsubscribe",
  "message",
  // device twin
  "get",
  "updated",
  "delta",
  "document",
  // answered automatically with content "ack"
  "ping",
  "pong",
  "config",
] as const;

export type Operation = typeof OPERATIONS[number];

/** Message groups this project understands; decode accepts other tokens for the same reason as operations. */
export const GROUPS = ["resource", "twin", "user", "meta", "func"] as const;

export type Group = typeof GROUPS[number];

const OPERATION_SET: ReadonlySet<string> = new Set(OPERATIONS);
const GROUP_SET: ReadonlySet<string> = new Set(GROUPS);

/** Narrows a decoded operation to {@link Operation} so a `switch` over it can be exhaustive. */
export function isKnownOperation(operation: string): operation is Operation {
  return OPERATION_SET.has(operation);
}

/** Narrows a decoded group to {@link Group}. */
export function isKnownGroup(group: string): group is Group {
  return GROUP_SET.has(group);
}

export interface Header {
  readonly msg_id: string;
  /** Set on responses only: the `msg_id` of the request. */
  readonly parent_msg_id?: string;
  /** Unix time in milliseconds. */
  readonly timestamp: number;
  /** The Kubernetes resourceVersion of the content: decimal digits, compared as integers. */
  readonly resourceversion?: string;
  readonly sync?: boolean;
}

/**
 * Where a message goes. `group` and `operation` are plain strings because decode keeps tokens it does not
 * know (see {@link OPERATIONS}); use {@link isKnownGroup} and {@link isKnownOperation} before switching.
 */
export interface Route {
  readonly source: string;
  readonly group: string;
  readonly operation: string;
  /** A resource string (see resource.ts) or, in group `user`, an MQTT topic. */
  readonly resource: string;
}

export interface Message<C = unknown> {
  readonly header: Header;
  readonly route: Route;
  readonly content: C;
}

/** The outcome of an operation that reports failure as a value instead of throwing. */
export type Result<T, E = Error> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };
