import assert from "node:assert/strict";
import { compareResourceVersion, isResourceVersion } from "./resource_version.ts";

Deno.test("compareResourceVersion compares as integers, not as strings", () => {
  assert.equal(compareResourceVersion("9", "10"), -1);
  assert.equal(compareResourceVersion("10", "9"), 1);
  assert.equal(compareResourceVersion("123", "123"), 0);
  assert.equal(compareResourceVersion("007", "7"), 0);
});

Deno.test("compareResourceVersion stays exact beyond 2^53", () => {
  assert.equal(compareResourceVersion("9007199254740993", "9007199254740992"), 1);
  assert.equal(compareResourceVersion("18446744073709551615", "18446744073709551614"), 1);
});

Deno.test("compareResourceVersion throws RangeError for a value that is not decimal digits", () => {
  for (const bad of ["", "abc", "-1", "1.5", " 1", "1e3", "0x10"]) {
    assert.throws(
      () => compareResourceVersion(bad, "1"),
      (e: unknown) => e instanceof RangeError && e.message.startsWith("Cannot compare resourceVersions:"),
      bad,
    );
  }
});

Deno.test("isResourceVersion accepts decimal digits up to 64 and nothing else", () => {
  assert.equal(isResourceVersion("0"), true);
  assert.equal(isResourceVersion("1".repeat(64)), true);
  assert.equal(isResourceVersion("1".repeat(65)), false);
  assert.equal(isResourceVersion(""), false);
  assert.equal(isResourceVersion("12a"), false);
  assert.equal(isResourceVersion("١٢"), false); // Arabic-Indic digits are not decimal ASCII
});
