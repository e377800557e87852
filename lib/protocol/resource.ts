/**
 * Resource strings: the only place that builds or parses them.
 *
 * On the wire a resource is `<namespace>/<type>[/<name>]` (`default/pod/nginx`, `kube-node-lease/lease/edge-1`),
 * with namespace `null` for cluster-scoped objects, or one of the device forms: `membership[/<sub>]`,
 * `device/<ns>/<name>/twin/<event>` and `device/<ns>/<name>/<sub>...` (such as `state/update`).
 * Upstream cloudcore prefixes them internally with `node/<node>/`; that form parses too and sets `node`.
 */
import { isDns1123Label, isDns1123Subdomain } from "./names.ts";
import type { Result } from "./types.ts";

/** The namespace segment upstream writes for cluster-scoped objects. */
export const CLUSTER_NAMESPACE = "null";
export const MEMBERSHIP_RESOURCE = "membership";
/** Twin event the edge reports with (`device/<ns>/<name>/twin/edge_updated`). */
export const TWIN_EDGE_UPDATED = "edge_updated";
/** Twin event the cloud pushes desired values with. */
export const TWIN_CLOUD_UPDATED = "cloud_updated";
/**
 * Bounds route.resource and what parseResource reads. Object resources stay far below (prefix + 63 + type + 253);
 * the slack is for group `user`, where the resource is an MQTT topic.
 */
export const MAX_RESOURCE_LENGTH = 4096;

const NODE_PREFIX = "node";
const DEVICE = "device";
const TWIN = "twin";
const MAX_TYPE_LENGTH = 253;
const MAX_WORD_LENGTH = 63;
// Resource types are lowercase kinds (pod, nodepatch, lease); dots allow group-qualified ones.
const TYPE = /^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$/;
// Twin events and device or membership sub-resources: edge_updated, detail, state.
const WORD = /^[a-z][a-z0-9_]*$/;

export interface ObjectResource {
  readonly kind: "object";
  readonly node?: string;
  /** `null` for cluster-scoped objects (wire namespace `null`). */
  readonly namespace: string | null;
  readonly type: string;
  readonly name?: string;
}

export interface MembershipResource {
  readonly kind: "membership";
  readonly node?: string;
  readonly subresource?: string;
}

export interface TwinResource {
  readonly kind: "twin";
  readonly node?: string;
  readonly namespace: string;
  readonly name: string;
  readonly event: string;
}

export interface DeviceResource {
  readonly kind: "device";
  readonly node?: string;
  readonly namespace: string;
  readonly name: string;
  /** Everything after the device id, such as `state/update`; never `twin/<event>` (that is a TwinResource). */
  readonly subresource: string;
}

export type ParsedResource = ObjectResource | MembershipResource | TwinResource | DeviceResource;

/** Parses a resource string; never throws. */
export function parseResource(resource: string): Result<ParsedResource, RangeError> {
  const read = readResource(resource);
  if (typeof read === "string") {
    return { ok: false, error: new RangeError(`Cannot parse resource ${quote(resource)}: ${read}`) };
  }
  return { ok: true, value: read };
}

/** Parses a resource string that must be a device twin resource; never throws. */
export function parseTwinResource(resource: string): Result<TwinResource, RangeError> {
  const parsed = parseResource(resource);
  if (!parsed.ok) return parsed;
  if (parsed.value.kind !== "twin") {
    const why =
      `expected device/<namespace>/<name>/twin/<event> but found a resource of kind ${parsed.value.kind}`;
    return { ok: false, error: new RangeError(`Cannot parse resource ${quote(resource)}: ${why}`) };
  }
  return { ok: true, value: parsed.value };
}

/**
 * Builds the string for a parsed resource. Throws RangeError when a part breaks the naming rules or the
 * string would read back as something else, so every built string round-trips through parseResource.
 */
export function formatResource(resource: ParsedResource): string {
  const wanted = normalize(resource);
  const parts: string[] = wanted.node === undefined ? [] : [NODE_PREFIX, wanted.node];
  switch (wanted.kind) {
    case "object":
      parts.push(wanted.namespace ?? CLUSTER_NAMESPACE, wanted.type);
      if (wanted.name !== undefined) parts.push(wanted.name);
      break;
    case "membership":
      parts.push(MEMBERSHIP_RESOURCE);
      if (wanted.subresource !== undefined) parts.push(wanted.subresource);
      break;
    case "twin":
      parts.push(DEVICE, wanted.namespace, wanted.name, TWIN, wanted.event);
      break;
    case "device":
      parts.push(DEVICE, wanted.namespace, wanted.name, wanted.subresource);
      break;
  }
  const text = parts.join("/");
  const read = readResource(text);
  if (typeof read === "string") throw new RangeError(`Cannot build resource ${quote(text)}: ${read}`);
  if (!sameResource(read, wanted)) {
    throw new RangeError(
      `Cannot build resource ${quote(text)}: it would read back as a ${read.kind} resource`,
    );
  }
  return text;
}

/** `<namespace>/<type>[/<name>]`; pass namespace `null` for cluster-scoped objects. Throws RangeError. */
export function buildResource(
  ref: { namespace: string | null; type: string; name?: string; node?: string },
): string {
  return formatResource({ kind: "object", ...ref });
}

/** `device/<namespace>/<name>/twin/<event>`, e.g. event {@link TWIN_EDGE_UPDATED}. Throws RangeError. */
export function buildTwinResource(
  ref: { namespace: string; name: string; event: string; node?: string },
): string {
  return formatResource({ kind: "twin", ...ref });
}

/** `device/<namespace>/<name>/<subresource>`, e.g. subresource `state/update`. Throws RangeError. */
export function buildDeviceResource(
  ref: { namespace: string; name: string; subresource: string; node?: string },
): string {
  return formatResource({ kind: "device", ...ref });
}

/** Returns the parsed resource, or why the string is not one. */
function readResource(resource: string): ParsedResource | string {
  if (resource.length === 0) return "it is empty";
  if (resource.length > MAX_RESOURCE_LENGTH) return `it is longer than ${MAX_RESOURCE_LENGTH} characters`;
  let segments = resource.split("/");
  if (segments.includes("")) return "it has an empty segment";
  let node: string | undefined;
  if (hasNodePrefix(segments)) {
    node = segments[1] ?? "";
    if (!isDns1123Subdomain(node)) return `node ${quote(node)} is not a DNS-1123 subdomain`;
    segments = segments.slice(2);
  }
  const read = readUnprefixed(segments);
  if (typeof read === "string" || node === undefined) return read;
  return { ...read, node };
}

/**
 * `node/<node>/<rest>` is upstream's internal form. Plain objects have at most three segments, so four or
 * more starting with `node` must be prefixed; with three, only `node/<node>/membership` is, and anything
 * else (`node/pod/x`) is an object in a namespace called "node".
 */
function hasNodePrefix(segments: readonly string[]): boolean {
  if (segments[0] !== NODE_PREFIX) return false;
  return segments.length >= 4 || (segments.length === 3 && segments[2] === MEMBERSHIP_RESOURCE);
}

function readUnprefixed(segments: readonly string[]): ParsedResource | string {
  const [first = "", second, third] = segments;
  if (first === MEMBERSHIP_RESOURCE && segments.length <= 2) {
    if (second === undefined) return { kind: "membership" };
    if (!isWord(second)) return `membership sub-resource ${quote(second)} is not a lowercase word`;
    return { kind: "membership", subresource: second };
  }
  if (first === DEVICE && segments.length >= 4) return readDevice(segments.slice(1));
  if (second !== undefined && segments.length <= 3) return readObject(first, second, third);
  return "expected <namespace>/<type>[/<name>], membership[/<sub>] or device/<namespace>/<name>/<sub>";
}

function readObject(namespace: string, type: string, name: string | undefined): ObjectResource | string {
  if (!isDns1123Label(namespace)) return `namespace ${quote(namespace)} is not a DNS-1123 label`;
  if (type.length > MAX_TYPE_LENGTH || !TYPE.test(type)) {
    return `type ${quote(type)} is not a lowercase resource type`;
  }
  if (name !== undefined && !isDns1123Subdomain(name)) {
    return `name ${quote(name)} is not a DNS-1123 subdomain`;
  }
  const ns = namespace === CLUSTER_NAMESPACE ? null : namespace;
  return name === undefined
    ? { kind: "object", namespace: ns, type }
    : { kind: "object", namespace: ns, type, name };
}

function readDevice(segments: readonly string[]): TwinResource | DeviceResource | string {
  const [namespace = "", name = "", ...sub] = segments;
  if (!isDns1123Label(namespace)) return `device namespace ${quote(namespace)} is not a DNS-1123 label`;
  if (!isDns1123Subdomain(name)) return `device name ${quote(name)} is not a DNS-1123 subdomain`;
  const subresource = sub.join("/");
  if (!sub.every(isWord)) {
    return `device sub-resource ${quote(subresource)} is not lowercase words joined by '/'`;
  }
  if (sub.length === 2 && sub[0] === TWIN && sub[1] !== undefined) {
    return { kind: "twin", namespace, name, event: sub[1] };
  }
  return { kind: "device", namespace, name, subresource };
}

function isWord(value: string): boolean {
  return value.length <= MAX_WORD_LENGTH && WORD.test(value);
}

// Callers may spell a cluster-scoped namespace as the wire does ("null"); compare it as null.
function normalize(resource: ParsedResource): ParsedResource {
  if (resource.kind === "object" && resource.namespace === CLUSTER_NAMESPACE) {
    return { ...resource, namespace: null };
  }
  return resource;
}

function sameResource(a: ParsedResource, b: ParsedResource): boolean {
  const x = fields(a);
  const y = fields(b);
  return x.length === y.length && x.every((value, i) => value === y[i]);
}

function fields(r: ParsedResource): readonly (string | null | undefined)[] {
  switch (r.kind) {
    case "object":
      return [r.kind, r.node, r.namespace, r.type, r.name];
    case "membership":
      return [r.kind, r.node, r.subresource];
    case "twin":
      return [r.kind, r.node, r.namespace, r.name, r.event];
    case "device":
      return [r.kind, r.node, r.namespace, r.name, r.subresource];
  }
}

// Peer-controlled text goes into error messages quoted and shortened.
function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
