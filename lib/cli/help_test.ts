import assert from "node:assert/strict";
import { defineCli } from "./args.ts";
import { commonFlags } from "./common_flags.ts";
import { formatHelp } from "./help.ts";

Deno.test("help lists usage, every command (marking the default), every flag and the footer", () => {
  const help = formatHelp(defineCli({
    program: "edgecore",
    summary: "the edge agent",
    commands: { run: { description: "Run the agent" }, join: { description: "Join a cluster" } },
    defaultCommand: "run",
    flags: commonFlags("/etc/kubeedge/config/edgecore.yaml"),
    footer: "Exit status: 0 ok.",
  }));
  assert.match(help, /^Usage: edgecore \[command\] \[flags\]\n/);
  assert.match(help, /\n {2}run +Run the agent \(default\)\n/);
  assert.match(help, /\n {2}join {2}Join a cluster\n/);
  for (
    const flag of [
      "-h, --help",
      "--version",
      "--config FILE",
      "--defaultconfig",
      "--log-level debug|info|warn|error",
      "--log-format json|text",
    ]
  ) {
    assert.ok(help.includes(flag), `help lacks ${flag}`);
  }
  assert.ok(help.includes("/etc/kubeedge/config/edgecore.yaml"));
  assert.ok(help.endsWith("Exit status: 0 ok.\n"));
});
