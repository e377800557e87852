/** The `--help` text of a CliSpec: usage, commands, flags, then the spec's footer. */

import type { CliSpec, FlagSpec } from "./args.ts";

export function formatHelp<F extends Readonly<Record<string, FlagSpec>>, C extends string>(
  spec: CliSpec<F, C>,
): string {
  const lines = [`Usage: ${spec.program} [command] [flags]`, "", spec.summary, "", "Commands:"];
  const commands = Object.entries<{ description: string }>(spec.commands);
  const commandWidth = Math.max(...commands.map(([name]) => name.length));
  for (const [name, command] of commands) {
    const suffix = name === spec.defaultCommand ? " (default)" : "";
    lines.push(`  ${name.padEnd(commandWidth)}  ${command.description}${suffix}`);
  }
  lines.push("", "Flags:");
  const flags = Object.entries<FlagSpec>(spec.flags).map(([name, flag]) => {
    const short = flag.short === undefined ? "    " : `-${flag.short}, `;
    const value = flag.type === "string" ? ` ${flag.choices?.join("|") ?? flag.value ?? "VALUE"}` : "";
    return [`${short}--${name}${value}`, flag.description] as const;
  });
  const flagWidth = Math.max(...flags.map(([left]) => left.length));
  for (const [left, description] of flags) lines.push(`  ${left.padEnd(flagWidth)}  ${description}`);
  if (spec.footer !== undefined) lines.push("", spec.footer);
  return lines.join("\n") + "\n";
}
