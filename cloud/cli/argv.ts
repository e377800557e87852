// Two small additions to lib/cli's parser for the subcommands: two-word commands (`certs renew`) and flags
// given more than once or as a comma list (`--dns-name a --dns-name b,c`).
import type { FlagSpec } from "../../lib/cli/mod.ts";

/**
 * Joins the first positional argument and the next one into one command word when the first is one of
 * `groups` (`certs renew` -> `"certs renew"`), so that lib/cli sees one command. Flags that take a value
 * are skipped with their value.
 */
export function joinGroupCommand(
  argv: readonly string[],
  flags: Readonly<Record<string, FlagSpec>>,
  groups: readonly string[],
): string[] {
  const positions: number[] = [];
  for (let i = 0; i < argv.length && positions.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      const name = arg.replace(/^-+/, "");
      if (!name.includes("=") && flags[name]?.type === "string") i++;
      continue;
    }
    positions.push(i);
  }
  const [first, second] = positions;
  if (first === undefined || second === undefined || !groups.includes(argv[first]!)) return [...argv];
  const out = [...argv];
  out[first] = `${argv[first]} ${argv[second]}`;
  out.splice(second, 1);
  return out;
}

/** Every value of `--name`, repeated or comma-separated, in order, without empty items. */
export function flagValues(argv: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === `--${name}`) values.push(argv[++i] ?? "");
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  }
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}
