/**
 * Turns valibot issues and unknown keys into problems that read `<dotted.path>: <message> (line L, column C)`.
 *
 * valibot's strict objects stop at the first unknown key of an object; this module walks the input against the
 * schema itself so that every unknown key is reported, each with a "did you mean" when one is close.
 */

import type * as v from "valibot";

export type PathKey = string | number;

export interface Problem {
  /** Keys from the top of the document; empty for the document itself. */
  readonly path: readonly PathKey[];
  readonly message: string;
  /** Where in the file, 1-based, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** Finds the position of a path in the source; `key` asks for the key rather than its value. */
export type Locate = (path: readonly PathKey[], key: boolean) => { line: number; column: number } | undefined;

/** `a.b[0]["x.y/z"]`: dots between plain keys, brackets for indexes and for keys that are not plain words. */
export function dottedPath(path: readonly PathKey[]): string {
  if (path.length === 0) return "(document)";
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

export function formatProblem(problem: Problem): string {
  const where = problem.line === undefined ? "" : ` (line ${problem.line}, column ${problem.column ?? 1})`;
  return `${dottedPath(problem.path)}: ${problem.message}${where}`;
}

/** Every problem with `input`: schema issues (except valibot's own unknown-key issues) and all unknown keys. */
export function collectProblems(
  schema: v.GenericSchema,
  input: unknown,
  issues: readonly v.BaseIssue<unknown>[],
  locate?: Locate,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (isUnknownKeyIssue(issue)) continue;
    const path = issuePath(issue);
    problems.push({ path, message: issue.message, ...locate?.(path, false) });
  }
  for (const unknown of unknownKeys(schema, input)) {
    problems.push({ path: unknown.path, message: unknown.message, ...locate?.(unknown.path, true) });
  }
  return problems.sort(byPosition);
}

function byPosition(a: Problem, b: Problem): number {
  if (a.line !== undefined && b.line !== undefined && a.line !== b.line) return a.line - b.line;
  if (a.line !== undefined && b.line !== undefined) return (a.column ?? 0) - (b.column ?? 0);
  return dottedPath(a.path) < dottedPath(b.path) ? -1 : dottedPath(a.path) > dottedPath(b.path) ? 1 : 0;
}

function isUnknownKeyIssue(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === "strict_object" && issue.expected === "never";
}

function issuePath(issue: v.BaseIssue<unknown>): PathKey[] {
  const path: PathKey[] = [];
  for (const item of issue.path ?? []) {
    const key = (item as { key?: unknown }).key;
    if (typeof key === "string" || typeof key === "number") path.push(key);
  }
  return path;
}

interface UnknownKey {
  readonly path: PathKey[];
  readonly message: string;
}

/** Schema internals this walker reads; valibot exposes them as plain properties. */
interface SchemaShape {
  readonly type: string;
  readonly wrapped?: SchemaShape;
  readonly entries?: Record<string, SchemaShape>;
  readonly item?: SchemaShape;
  readonly value?: SchemaShape;
}

/** Walks `input` along `schema` and lists every key a strict object does not know (and lists given for mappings). */
export function unknownKeys(schema: v.GenericSchema, input: unknown): UnknownKey[] {
  const out: UnknownKey[] = [];
  walk(schema as unknown as SchemaShape, input, [], out);
  return out;
}

function walk(schema: SchemaShape, input: unknown, path: PathKey[], out: UnknownKey[]): void {
  while (schema.wrapped && ["optional", "nullish", "exact_optional", "nullable"].includes(schema.type)) {
    schema = schema.wrapped;
  }
  if (schema.type === "strict_object" && Array.isArray(input)) {
    // valibot reads a list as an object with keys "0", "1", ...; say what is really wrong.
    out.push({ path, message: "must be a mapping, got a list" });
  } else if (schema.type === "strict_object" && schema.entries && isMapping(input)) {
    const known = Object.keys(schema.entries);
    for (const [key, value] of Object.entries(input)) {
      const entry = Object.hasOwn(schema.entries, key) ? schema.entries[key] : undefined;
      if (entry) walk(entry, value, [...path, key], out);
      else out.push({ path: [...path, key], message: unknownKeyMessage(key, known) });
    }
  } else if (schema.type === "array" && schema.item && Array.isArray(input)) {
    input.forEach((item, i) => walk(schema.item!, item, [...path, i], out));
  } else if (schema.type === "record" && schema.value && isMapping(input)) {
    for (const [key, value] of Object.entries(input)) walk(schema.value, value, [...path, key], out);
  }
}

function isMapping(input: unknown): input is Record<string, unknown> {
  return typeof input === "object" && input !== null && !Array.isArray(input);
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = closest(key, known);
  if (near) return `unknown key, did you mean "${near}"?`;
  return known.length === 0 ? "unknown key" : `unknown key, expected one of: ${known.join(", ")}`;
}

/** The known key nearest to `key` (case-insensitive edit distance at most 2, or 3 for long keys). */
function closest(key: string, known: readonly string[]): string | undefined {
  const limit = key.length > 10 ? 3 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
