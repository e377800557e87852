import assert from "node:assert/strict";
import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { logSection, port, positiveInt, section, str } from "./fields.ts";
import {
  BUILT_IN_DEFAULTS,
  loadConfig,
  loadConfigFile,
  MAX_CONFIG_BYTES,
  parseConfigText,
  parseConfigValue,
  toYaml,
} from "./load.ts";

const Schema = v.strictObject({
  server: section({
    name: str("kedge"),
    port: port(8080),
    limits: section({ connections: positiveInt(100) }),
  }),
  log: logSection(),
});

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("an empty document gives every default", () => {
  const expected = {
    server: { name: "kedge", port: 8080, limits: { connections: 100 } },
    log: { level: "info", format: "json" },
  };
  assert.deepEqual(parseConfigText(Schema, "", "t.yaml"), expected);
  assert.deepEqual(parseConfigText(Schema, "# only a comment\n", "t.yaml"), expected);
});

Deno.test("a partial file merges over the defaults field by field", () => {
  const config = parseConfigText(Schema, "server:\n  limits:\n    connections: 7\n", "t.yaml");
  assert.deepEqual(config.server, { name: "kedge", port: 8080, limits: { connections: 7 } });
  assert.deepEqual(config.log, { level: "info", format: "json" });
});

Deno.test("every schema problem is reported with its dotted path and line", () => {
  const text =
    "server:\n  port: 70000\n  name: 5\n  limits: {connections: -1, burst: 3}\nlog: {level: loud}\n";
  const problems = problemsOf(() => parseConfigText(Schema, text, "t.yaml"));
  assert.deepEqual(problems, [
    "server.port: must be an integer port from 1 to 65535, got 70000 (line 2, column 9)",
    "server.name: must be a string, got 5 (line 3, column 9)",
    "server.limits.connections: must be a positive integer, got -1 (line 4, column 25)",
    "server.limits.burst: unknown key, expected one of: connections (line 4, column 29)",
    'log.level: must be one of "debug", "info", "warn", "error", got "loud" (line 5, column 14)',
  ]);
});

Deno.test("every unknown key is reported, not only the first of each object", () => {
  const problems = problemsOf(() =>
    parseConfigText(Schema, "server: {nmae: a, prot: 1}\nextra: 1\n", "t.yaml")
  );
  assert.deepEqual(problems, [
    'server.nmae: unknown key, did you mean "name"? (line 1, column 10)',
    'server.prot: unknown key, did you mean "port"? (line 1, column 19)',
    "extra: unknown key, expected one of: server, log (line 2, column 1)",
  ]);
});

Deno.test("a list where a mapping belongs is one clear problem", () => {
  assert.deepEqual(problemsOf(() => parseConfigText(Schema, "- a\n- b\n", "t.yaml")), [
    "(document): must be a mapping, got a list (line 1, column 1)",
  ]);
  assert.deepEqual(problemsOf(() => parseConfigText(Schema, "server: 3\n", "t.yaml")), [
    "server: must be a mapping, got 3 (line 1, column 9)",
  ]);
});

Deno.test("bad YAML is reported with line and column", () => {
  const problems = problemsOf(() => parseConfigText(Schema, "server:\n  port: [1, 2\nlog: x\n", "t.yaml"));
  assert.ok(problems.length >= 1);
  assert.match(problems[0]!, /^invalid YAML at line \d+, column \d+: /);
});

Deno.test("duplicate keys and unknown tags are YAML problems", () => {
  assert.match(
    problemsOf(() => parseConfigText(Schema, "log: {}\nlog: {}\n", "t.yaml"))[0]!,
    /line 2, column 1: .*unique/,
  );
  assert.match(
    problemsOf(() => parseConfigText(Schema, "server: !secret x\n", "t.yaml"))[0]!,
    /line 1, column 9: .*tag/,
  );
});

Deno.test("ConfigError names the source and counts the problems", () => {
  try {
    parseConfigValue(Schema, { a: 1, b: 2 }, "here.yaml");
    assert.fail("expected a ConfigError");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.source, "here.yaml");
    assert.equal(err.message, "Cannot load config here.yaml: 2 problems");
  }
});

Deno.test("loadConfigFile reports a missing file, a directory and an oversized file as ConfigError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadConfigFile(Schema, `${dir}/missing.yaml`), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, ["cannot read the file: file not found"]);
      return true;
    });
    await assert.rejects(loadConfigFile(Schema, dir), ConfigError);
    await Deno.writeFile(`${dir}/big.yaml`, new Uint8Array(MAX_CONFIG_BYTES + 1).fill(0x20));
    await assert.rejects(loadConfigFile(Schema, `${dir}/big.yaml`), /more than the/);
    await Deno.writeFile(`${dir}/latin1.yaml`, new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    await assert.rejects(loadConfigFile(Schema, `${dir}/latin1.yaml`), /not UTF-8/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig reads the given file, else the default path, else the built-in defaults", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.yaml`, "server: {port: 1}\n");
    await Deno.writeTextFile(`${dir}/default.yaml`, "server: {port: 2}\n");
    const given = await loadConfig(Schema, { path: `${dir}/a.yaml`, defaultPath: `${dir}/default.yaml` });
    assert.equal(given.config.server.port, 1);
    assert.equal(given.source, `${dir}/a.yaml`);
    const fallback = await loadConfig(Schema, { defaultPath: `${dir}/default.yaml` });
    assert.equal(fallback.config.server.port, 2);
    const builtIn = await loadConfig(Schema, { defaultPath: `${dir}/nothing.yaml` });
    assert.equal(builtIn.config.server.port, 8080);
    assert.equal(builtIn.source, BUILT_IN_DEFAULTS);
    await assert.rejects(
      loadConfig(Schema, { path: `${dir}/nothing.yaml`, defaultPath: `${dir}/a.yaml` }),
      ConfigError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toYaml output parses back to the same config, header as comments", () => {
  const config = parseConfigText(Schema, "", "t.yaml");
  const text = toYaml(config, "line one\nline two");
  assert.ok(text.startsWith("# line one\n# line two\n"));
  assert.deepEqual(parseConfigText(Schema, text, "t.yaml"), config);
});
