/**
 * Structured logging: one line per record, constant messages, variable data in fields.
 *
 * ```ts
 * const log = createLogger({ level: "info", format: "json", component: "cloudcore" });
 * log.info("node connected", { node: "edge-1" });
 * // {"time":"2025-01-01T00:00:00.000Z","level":"info","component":"cloudcore","msg":"node connected","node":"edge-1"}
 * ```
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
export const LOG_FORMATS = ["json", "text"] as const;
export type LogFormat = typeof LOG_FORMATS[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record (call-site fields win on a clash). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Records below this level are dropped. Default "info". */
  readonly level?: LogLevel;
  /** Default "json". */
  readonly format?: LogFormat;
  /** Added to every record as `component`. */
  readonly component?: string;
  /** Receives each record as one line, without the newline. Default: standard error. */
  readonly write?: (line: string) => void;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys every record has; a field of the same name is renamed with a leading underscore. */
const RESERVED = new Set(["time", "level", "component", "msg"]);
const MAX_CAUSE_DEPTH = 5;

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "json";
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date());
  const base: Record<string, unknown> = {};
  if (options.component !== undefined) base.component = options.component;
  return makeLogger({ minRank: RANK[level], format, write, now }, base);
}

interface Sink {
  readonly minRank: number;
  readonly format: LogFormat;
  readonly write: (line: string) => void;
  readonly now: () => Date;
}

function makeLogger(sink: Sink, bound: LogFields): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < sink.minRank) return;
    const record: Record<string, unknown> = { time: sink.now().toISOString(), level };
    if ("component" in bound) record.component = bound.component;
    record.msg = msg;
    addFields(record, bound, true);
    if (fields) addFields(record, fields, false);
    sink.write(sink.format === "json" ? toJsonLine(record) : toTextLine(record));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => makeLogger(sink, { ...bound, ...fields }),
  };
}

function addFields(record: Record<string, unknown>, fields: LogFields, skipComponent: boolean): void {
  for (const [key, value] of Object.entries(fields)) {
    if (skipComponent && key === "component") continue;
    record[RESERVED.has(key) ? `_${key}` : key] = value;
  }
}

/** Turns values JSON cannot carry (errors, bigints, maps, cycles) into plain data. */
export function toLogValue(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[circular]";
  seen.add(value);
  try {
    if (value instanceof Error) return errorValue(value, seen, 0);
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
    if (value instanceof Map) {
      return Object.fromEntries([...value].map(([k, v]) => [String(k), toLogValue(v, seen)]));
    }
    if (value instanceof Set) return [...value].map((v) => toLogValue(v, seen));
    if (Array.isArray(value)) return value.map((v) => toLogValue(v, seen));
    if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toLogValue(v, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

function errorValue(err: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (err.cause !== undefined) {
    out.cause = err.cause instanceof Error && depth < MAX_CAUSE_DEPTH
      ? errorValue(err.cause, seen, depth + 1)
      : toLogValue(err.cause, seen);
  }
  return out;
}

function toJsonLine(record: Record<string, unknown>): string {
  return JSON.stringify(toLogValue(record));
}

/** `TIME LEVEL [component] msg key=value ...`, for a person at a terminal. */
function toTextLine(record: Record<string, unknown>): string {
  const { time, level, component, msg, ...fields } = record;
  let line = `${time} ${String(level).toUpperCase().padEnd(5)}`;
  if (component !== undefined) line += ` [${component}]`;
  line += ` ${msg}`;
  for (const [key, value] of Object.entries(fields)) line += ` ${key}=${textValue(toLogValue(value))}`;
  return line;
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return "undefined";
  return JSON.stringify(value);
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}
