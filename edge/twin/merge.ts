/**
 * KubeEdge's twin semantics as pure functions: how an update from the box or desired values from the cloud
 * change the stored twins, what the document (last/current) and the delta (expected != actual) are.
 * Versions: the box bumps `edge`, the cloud sets `cloud`; a cloud version not newer than the stored one is
 * stale and ignored.
 */
import type { MsgTwin, Twins, TwinVersion } from "./types.ts";

export interface Merged {
  /** The new stored twin of every property the update touched. */
  readonly changed: Twins;
  /** `{<prop>: {last, current}}` for the touched properties; last is null for a new property. */
  readonly document: Record<string, { last: MsgTwin | null; current: MsgTwin }>;
  /** The touched properties that carried an actual value: what goes to the cloud. */
  readonly reported: Twins;
}

const ZERO: TwinVersion = { cloud: 0, edge: 0 };

/** Why a value does not fit its declared type, or undefined when it does. */
export function valueProblem(type: string | undefined, value: string): string | undefined {
  switch ((type ?? "string").toLowerCase()) {
    case "int":
    case "integer":
      return /^[-+]?\d{1,19}$/.test(value) ? undefined : `value ${JSON.stringify(value)} is not an int`;
    case "float":
    case "double":
      return value.trim() !== "" && Number.isFinite(Number(value))
        ? undefined
        : `value ${JSON.stringify(value)} is not a ${type}`;
    case "boolean":
      return value === "true" || value === "false"
        ? undefined
        : `value ${JSON.stringify(value)} is not a boolean`;
    default:
      return undefined;
  }
}

/** Checks every value of an update against the property's type (stored, else declared). */
export function typeProblem(stored: Readonly<Twins>, update: Readonly<Twins>): string | undefined {
  for (const [prop, twin] of Object.entries(update)) {
    const type = stored[prop]?.metadata?.type ?? twin.metadata?.type;
    for (const side of ["expected", "actual"] as const) {
      const value = twin[side]?.value;
      const problem = value === undefined ? undefined : valueProblem(type, value);
      if (problem) return `property ${JSON.stringify(prop)}: ${side} ${problem}`;
    }
  }
  return undefined;
}

/** An update from a mapper or app (`$hw/events/device/<id>/twin/update`). */
export function mergeFromBox(stored: Readonly<Twins>, update: Readonly<Twins>, now: number): Merged {
  const changed: Twins = {};
  const document: Merged["document"] = {};
  const reported: Twins = {};
  for (const [prop, twin] of Object.entries(update)) {
    const last = stored[prop];
    const next = start(last, twin);
    if (twin.expected) {
      next.expected = {
        value: twin.expected.value,
        metadata: { timestamp: twin.expected.metadata?.timestamp ?? now },
      };
      const version = next.expected_version ?? ZERO;
      next.expected_version = { cloud: version.cloud, edge: version.edge + 1 };
    }
    if (twin.actual) {
      next.actual = {
        value: twin.actual.value,
        metadata: { timestamp: twin.actual.metadata?.timestamp ?? now },
      };
      const version = next.actual_version ?? ZERO;
      next.actual_version = { cloud: version.cloud, edge: version.edge + 1 };
      reported[prop] = {
        actual: next.actual,
        optional: next.optional,
        metadata: next.metadata,
        actual_version: next.actual_version,
      };
    }
    changed[prop] = next;
    document[prop] = { last: last ?? null, current: next };
  }
  return { changed, document, reported };
}

/** Desired values from the cloud (Device spec.properties[].desired): only `expected` and its version. */
export function mergeDesired(stored: Readonly<Twins>, desired: Readonly<Twins>, now: number): Merged {
  const changed: Twins = {};
  const document: Merged["document"] = {};
  for (const [prop, twin] of Object.entries(desired)) {
    const last = stored[prop];
    if (!twin.expected) {
      // A property without a desired value: known from now on, with its declared type.
      if (!last) {
        changed[prop] = start(undefined, twin);
        document[prop] = { last: null, current: changed[prop] };
      }
      continue;
    }
    const version = last?.expected_version ?? ZERO;
    const cloud = twin.expected_version?.cloud ?? version.cloud + 1;
    if (last && twin.expected_version && cloud <= version.cloud) continue;
    if (last?.expected?.value === twin.expected.value && !twin.expected_version) continue;
    const next = start(last, twin);
    if (twin.metadata?.type) next.metadata = { type: twin.metadata.type };
    if (twin.optional !== undefined) next.optional = twin.optional;
    next.expected = {
      value: twin.expected.value,
      metadata: { timestamp: twin.expected.metadata?.timestamp ?? now },
    };
    next.expected_version = { cloud, edge: version.edge };
    changed[prop] = next;
    document[prop] = { last: last ?? null, current: next };
  }
  return { changed, document, reported: {} };
}

/** `{<prop>: <expected value>}` for every property whose expected value differs from its actual one. */
export function deltaOf(twins: Readonly<Twins>): Record<string, string> {
  const delta: Record<string, string> = {};
  for (const [prop, twin] of Object.entries(twins)) {
    if (twin.expected && twin.expected.value !== twin.actual?.value) delta[prop] = twin.expected.value;
  }
  return delta;
}

function start(last: MsgTwin | undefined, update: MsgTwin): MsgTwin {
  if (last) return structuredClone(last);
  return {
    optional: update.optional ?? true,
    metadata: { type: update.metadata?.type ?? "string" },
    expected_version: { ...ZERO },
    actual_version: { ...ZERO },
  };
}
