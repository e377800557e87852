/**
 * What an entrypoint prints for an error that ends the process, and the exit code that goes with it. Plain
 * text on purpose: these come before the logger exists, and a person reads them (in a terminal or journalctl).
 */

import { ConfigError, EX_CONFIG, EX_SOFTWARE, EX_USAGE, UsageError } from "../errors.ts";

/** Writes the report through `write` and returns the exit code: 64 usage, 78 config, 70 anything else. */
export function reportFatal(program: string, err: unknown, write: (text: string) => void): number {
  if (err instanceof UsageError) {
    write(`${program}: ${err.message}\nRun '${program} --help' for usage.\n`);
    return EX_USAGE;
  }
  if (err instanceof ConfigError) {
    const lines = err.problems.map((problem) => `  ${problem}\n`).join("");
    const count = err.problems.length === 1 ? "1 problem" : `${err.problems.length} problems`;
    write(`${program}: Cannot load config ${err.source} (${count}):\n${lines}`);
    return EX_CONFIG;
  }
  write(`${program}: ${describeChain(err)}\n`);
  return EX_SOFTWARE;
}

function describeChain(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}
