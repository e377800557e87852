import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { defineCli, parseCli } from "./args.ts";
import { commonFlags } from "./common_flags.ts";

const CLI = defineCli({
  program: "tool",
  summary: "a tool",
  commands: { run: { description: "run it" }, status: { description: "show it" } },
  defaultCommand: "run",
  flags: commonFlags("/etc/tool.yaml"),
});

function usageError(argv: string[]): string {
  try {
    parseCli(CLI, argv);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    return err.message;
  }
  assert.fail(`expected a UsageError for ${argv.join(" ")}`);
}

Deno.test("no arguments runs the default command with no flags", () => {
  assert.deepEqual(parseCli(CLI, []), { command: "run", flags: {} });
});

Deno.test("a named command and flags in any order, both --flag VALUE and --flag=VALUE", () => {
  assert.deepEqual(parseCli(CLI, ["--config", "a.yaml", "status", "--log-level=debug", "-h"]), {
    command: "status",
    flags: { config: "a.yaml", "log-level": "debug", help: true },
  });
});

Deno.test("unknown flags, unknown commands and extra arguments are usage errors", () => {
  assert.equal(usageError(["--bogus"]), "unknown flag --bogus");
  assert.equal(usageError(["-x"]), "unknown flag -x");
  assert.equal(usageError(["gettoken"]), 'unknown command "gettoken" (commands: run, status)');
  assert.equal(usageError(["run", "extra"]), 'unexpected argument "extra"');
});

Deno.test("flag values are checked: missing, empty, not among the choices, given to a boolean", () => {
  assert.equal(usageError(["--config"]), "flag --config needs a value (--config FILE)");
  assert.equal(usageError(["--config="]), "flag --config needs a value (--config FILE)");
  assert.equal(
    usageError(["--log-format", "xml"]),
    'invalid value "xml" for --log-format: must be one of json, text',
  );
  assert.equal(usageError(["--version=yes"]), "flag --version takes no value");
});
