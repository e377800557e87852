/**
 * Building blocks for the config schemas of both binaries: every field has a default and a message that says
 * what a valid value looks like and what was found instead.
 */

import * as v from "valibot";
import { LOG_FORMATS, LOG_LEVELS } from "../log.ts";

type Message = (issue: v.BaseIssue<unknown>) => string;

/** A message function that reads `must be <what>, got <the value found>`. */
export function mustBe(what: string): Message {
  return (issue) => `must be ${what}, got ${describeValue(issue.input)}`;
}

/** A short description of a value found in a config file, for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  return String(value);
}

/**
 * A section of the config: a strict object (unknown keys are problems) that may be left out, in which case
 * every field takes its default. Partial sections merge over the defaults field by field.
 */
export function section<const E extends v.ObjectEntries>(entries: E): Section<E> {
  // The default `{}` runs through the object schema, so every field takes its own default.
  return v.optional(v.strictObject(entries, mustBe("a mapping")), {} as never);
}

/**
 * The type of `section(entries)`. Its default is typed `never` because TypeScript cannot check `{}` against a
 * generic object's input type; `never` also keeps `undefined` out of the output, which is what we want.
 */
export type Section<E extends v.ObjectEntries> = v.OptionalSchema<v.StrictObjectSchema<E, Message>, never>;

/** An integer in `[min, max]`. */
export function intIn(min: number, max: number, what: string) {
  const message = mustBe(what);
  return v.pipe(v.number(message), v.check((n) => Number.isInteger(n) && n >= min && n <= max, message));
}

/** A TCP port, 1 to 65535. */
export function port(defaultPort: number) {
  return v.optional(intIn(1, 65535, "an integer port from 1 to 65535"), defaultPort);
}

/** A positive integer, for counts and durations (the unit is in the field's name or docs). */
export function positiveInt(defaultValue: number, max: number = Number.MAX_SAFE_INTEGER) {
  const what = max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer from 1 to ${max}`;
  return v.optional(intIn(1, max, what), defaultValue);
}

/** A positive number, integer or not. */
export function positiveNumber(defaultValue: number) {
  const message = mustBe("a positive number");
  return v.optional(
    v.pipe(v.number(message), v.check((n) => Number.isFinite(n) && n > 0, message)),
    defaultValue,
  );
}

export function str(defaultValue: string) {
  return v.optional(v.string(mustBe("a string")), defaultValue);
}

export function nonEmptyStr(defaultValue: string) {
  const message = mustBe("a non-empty string");
  return v.optional(v.pipe(v.string(message), v.nonEmpty(message)), defaultValue);
}

export function bool(defaultValue: boolean) {
  return v.optional(v.boolean(mustBe("true or false")), defaultValue);
}

/** An IPv4 or IPv6 address. */
export function ipAddress(defaultValue: string) {
  const message = mustBe("an IPv4 or IPv6 address");
  return v.optional(v.pipe(v.string(message), v.ip(message)), defaultValue);
}

/** A list of IP addresses; an empty list by default. */
export function ipAddressList() {
  const item = mustBe("an IPv4 or IPv6 address");
  return v.optional(v.array(v.pipe(v.string(item), v.ip(item)), mustBe("a list")), () => []);
}

/** A list of non-empty strings; an empty list by default. */
export function stringList() {
  const item = mustBe("a non-empty string");
  return v.optional(v.array(v.pipe(v.string(item), v.nonEmpty(item)), mustBe("a list")), () => []);
}

/** A string-to-string map; an empty map by default. */
export function stringMap() {
  return v.optional(
    v.record(v.string(), v.string(mustBe("a string")), mustBe("a mapping of strings")),
    () => ({}),
  );
}

/** One of a fixed set of values (strings or numbers). */
export function oneOf<const T extends readonly (string | number)[]>(options: T, defaultValue: T[number]) {
  const listed = options.map((o) => JSON.stringify(o)).join(", ");
  const what = options.length === 1 ? listed : `one of ${listed}`;
  return v.optional(v.picklist(options, mustBe(what)), defaultValue);
}

/** What a string must look like: a pattern or a predicate. */
export type StringTest = RegExp | ((s: string) => boolean);

function passes(test: StringTest, s: string): boolean {
  return typeof test === "function" ? test(s) : test.test(s);
}

/** A string that is either empty (meaning "not set") or passes `test`. */
export function emptyOr(test: StringTest, what: string, defaultValue = "") {
  const message = mustBe(`empty or ${what}`);
  return v.optional(
    v.pipe(v.string(message), v.check((s) => s === "" || passes(test, s), message)),
    defaultValue,
  );
}

/** `HOST:PORT` with a port from 1 to 65535; an IPv6 host goes in brackets. */
export function isHostPort(s: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(s);
  const port = Number(match?.[2]);
  return match !== null && port >= 1 && port <= 65535;
}
/** A DNS-1123 subdomain: the names Kubernetes accepts for nodes. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The `log` section both binaries share; `--log-level` and `--log-format` override it. */
export function logSection() {
  return section({
    level: oneOf(LOG_LEVELS, "info"),
    format: oneOf(LOG_FORMATS, "json"),
  });
}

/** A string that passes `test`. */
export function matching(test: StringTest, what: string, defaultValue: string) {
  const message = mustBe(what);
  return v.optional(v.pipe(v.string(message), v.check((s) => passes(test, s), message)), defaultValue);
}
