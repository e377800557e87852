/**
 * A small layer over `node:util` parseArgs: a subcommand, global flags with descriptions (for `--help`) and
 * optional fixed choices. Anything it does not understand is a UsageError, never a silent default.
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";

export interface FlagSpec {
  readonly type: "boolean" | "string";
  readonly description: string;
  /** Placeholder for the value in help, e.g. "FILE". */
  readonly value?: string;
  /** The only values a string flag accepts. */
  readonly choices?: readonly string[];
  /** One letter, e.g. "h" for `-h`. */
  readonly short?: string;
}

export interface CommandSpec {
  readonly description: string;
}

export interface CliSpec<F extends Readonly<Record<string, FlagSpec>>, C extends string> {
  readonly program: string;
  /** One line under the usage line of `--help`. */
  readonly summary: string;
  readonly commands: Readonly<Record<C, CommandSpec>>;
  /** Run when no command is given. */
  readonly defaultCommand: NoInfer<C>;
  readonly flags: F;
  /** Extra text at the end of `--help`. */
  readonly footer?: string;
}

type FlagValue<S extends FlagSpec> = S["type"] extends "boolean" ? boolean
  : S extends { readonly choices: readonly (infer V)[] } ? V
  : string;

export type FlagValues<F extends Readonly<Record<string, FlagSpec>>> = {
  readonly [K in keyof F]?: FlagValue<F[K]>;
};

export interface ParsedCli<F extends Readonly<Record<string, FlagSpec>>, C extends string> {
  readonly command: C;
  readonly flags: FlagValues<F>;
}

/** Keeps the literal types of a spec (flag names, choices, command names) for `parseCli`. */
export function defineCli<const F extends Readonly<Record<string, FlagSpec>>, const C extends string>(
  spec: CliSpec<F, C>,
): CliSpec<F, C> {
  return spec;
}

/** Parses `argv` (without the program name). Throws UsageError with a one-line reason. */
export function parseCli<F extends Readonly<Record<string, FlagSpec>>, C extends string>(
  spec: CliSpec<F, C>,
  argv: readonly string[],
): ParsedCli<F, C> {
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = flag.short === undefined ? { type: flag.type } : { type: flag.type, short: flag.short };
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err, spec.flags), { cause: err });
  }

  const flags: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined) continue;
    const flag = spec.flags[name]!;
    if (typeof value === "string") checkValue(name, flag, value);
    flags[name] = value;
  }

  const [first, ...rest] = parsed.positionals;
  const command = first ?? spec.defaultCommand;
  if (!Object.hasOwn(spec.commands, command)) {
    const known = Object.keys(spec.commands).join(", ");
    throw new UsageError(`unknown command ${JSON.stringify(command)} (commands: ${known})`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  return { command: command as C, flags: flags as FlagValues<F> };
}

function checkValue(name: string, flag: FlagSpec, value: string): void {
  if (value === "") throw new UsageError(`flag --${name} needs a value (--${name} ${flag.value ?? "VALUE"})`);
  if (flag.choices && !flag.choices.includes(value)) {
    throw new UsageError(
      `invalid value ${JSON.stringify(value)} for --${name}: must be one of ${flag.choices.join(", ")}`,
    );
  }
}

/** Rewrites node's parseArgs messages, which suggest `--` tricks, into short reasons. */
function describeParseError(err: unknown, flags: Readonly<Record<string, FlagSpec>>): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown flag ${option}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    const name = option.replace(/^-+/, "");
    const flag = Object.entries(flags).find(([n, f]) => n === name || f.short === name);
    if (flag?.[1].type === "boolean") return `flag --${flag[0]} takes no value`;
    if (flag) return `flag --${flag[0]} needs a value (--${flag[0]} ${flag[1].value ?? "VALUE"})`;
  }
  return message;
}
