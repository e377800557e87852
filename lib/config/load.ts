/**
 * Loading a config file: read, parse YAML, validate with a valibot schema (which fills in defaults), and on
 * failure throw one ConfigError that lists every problem with its path and position.
 */

import * as v from "valibot";
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  stringify,
} from "yaml";
import { ConfigError } from "../errors.ts";
import { collectProblems, formatProblem, type Locate, type PathKey } from "./problems.ts";

/** Config files are small; anything bigger is a mistake (a log file passed by accident). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

/** Validates an already-parsed value (an empty document, `null`, counts as `{}`: all defaults). */
export function parseConfigValue<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  source: string,
  locate?: Locate,
): v.InferOutput<S> {
  const input = value ?? {};
  const result = v.safeParse(schema, input);
  const problems = collectProblems(schema, input, result.issues ?? [], locate);
  if (problems.length > 0 || !result.success) {
    throw new ConfigError(source, problems.length > 0 ? problems.map(formatProblem) : ["invalid config"]);
  }
  return result.output;
}

/** Parses YAML text and validates it; YAML syntax errors are problems too, with their line and column. */
export function parseConfigText<S extends v.GenericSchema>(
  schema: S,
  text: string,
  source: string,
): v.InferOutput<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return `line ${pos.line}, column ${pos.col}: ${e.message}`;
  });
  if (syntax.length > 0) throw new ConfigError(source, syntax.map((s) => `invalid YAML at ${s}`));
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new ConfigError(source, [`invalid YAML: ${(err as Error).message}`], { cause: err });
  }
  return parseConfigValue(schema, value, source, locator(doc, lineCounter));
}

/** Reads and validates one file. Every failure, a missing file included, is a ConfigError. */
export async function loadConfigFile<S extends v.GenericSchema>(
  schema: S,
  path: string,
): Promise<v.InferOutput<S>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${readFailure(err)}`], { cause: err });
  }
  if (bytes.byteLength > MAX_CONFIG_BYTES) {
    throw new ConfigError(path, [
      `file is ${bytes.byteLength} bytes, more than the ${MAX_CONFIG_BYTES} allowed`,
    ]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ConfigError(path, ["file is not UTF-8 text"], { cause: err });
  }
  return parseConfigText(schema, text, path);
}

export interface LoadedConfig<T> {
  readonly config: T;
  /** The file read, or "built-in defaults". */
  readonly source: string;
}

export const BUILT_IN_DEFAULTS = "built-in defaults";

/**
 * Loads `path` when given (it must exist). Without it, loads `defaultPath` when that file exists, else uses
 * the built-in defaults, so a bare `cloudcore` runs on a fresh machine.
 */
export async function loadConfig<S extends v.GenericSchema>(
  schema: S,
  options: { readonly path?: string | undefined; readonly defaultPath: string },
): Promise<LoadedConfig<v.InferOutput<S>>> {
  if (options.path !== undefined) {
    return { config: await loadConfigFile(schema, options.path), source: options.path };
  }
  try {
    await Deno.stat(options.defaultPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { config: parseConfigValue(schema, {}, BUILT_IN_DEFAULTS), source: BUILT_IN_DEFAULTS };
    }
    throw new ConfigError(options.defaultPath, [`cannot read the file: ${readFailure(err)}`], { cause: err });
  }
  return { config: await loadConfigFile(schema, options.defaultPath), source: options.defaultPath };
}

/** YAML for a config, as `--defaultconfig` prints it. It parses back to the same value. */
export function toYaml(config: unknown, header?: string): string {
  const body = stringify(config, { lineWidth: 0 });
  if (header === undefined) return body;
  return header.split("\n").map((line) => `# ${line}`.trimEnd()).join("\n") + "\n" + body;
}

function readFailure(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "file not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "it is a directory";
  return err instanceof Error ? err.message : String(err);
}

/** Finds a path in the YAML document: the key's position when `key`, else the value's. */
function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path, key) => {
    let node: unknown = doc.contents;
    let offset = (node as Node | null)?.range?.[0];
    for (const [i, step] of path.entries()) {
      const last = i === path.length - 1;
      const found = child(node, step);
      if (!found) break;
      const keyOffset = (found.key as Node | null)?.range?.[0];
      const valueOffset = (found.value as Node | null)?.range?.[0];
      offset = last && key ? keyOffset ?? offset : valueOffset ?? keyOffset ?? offset;
      node = found.value;
    }
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
}

function child(node: unknown, step: PathKey): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(step));
    return pair ? { key: pair.key, value: pair.value } : undefined;
  }
  if (isSeq(node) && typeof step === "number") {
    const item = node.items[step];
    return item === undefined ? undefined : { key: undefined, value: item };
  }
  return undefined;
}
