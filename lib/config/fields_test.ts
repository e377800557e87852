import assert from "node:assert/strict";
import * as v from "valibot";
import { describeValue, isHostPort, oneOf, port, section } from "./fields.ts";

Deno.test("isHostPort accepts names, IPv4 and bracketed IPv6 with a port from 1 to 65535", () => {
  for (const ok of ["cloud.example.com:10000", "10.0.0.1:1", "[fd00::1]:65535", "localhost:10550"]) {
    assert.equal(isHostPort(ok), true, ok);
  }
  for (
    const bad of [
      "cloud:0",
      "cloud:65536",
      "cloud:99999",
      "cloud",
      "wss://cloud:10000",
      "fd00::1:10000",
      ":80",
    ]
  ) {
    assert.equal(isHostPort(bad), false, bad);
  }
});

Deno.test("describeValue names what was found the way a YAML author wrote it", () => {
  assert.equal(describeValue("x"), '"x"');
  assert.equal(describeValue(3), "3");
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue([1]), "a list");
  assert.equal(describeValue({ a: 1 }), "a mapping");
  assert.equal(describeValue("y".repeat(100)).length, 62);
});

Deno.test("a section left out or given in part fills in its defaults", () => {
  const Schema = v.strictObject({ s: section({ p: port(80), k: oneOf(["a", "b"], "a") }) });
  assert.deepEqual(v.parse(Schema, {}), { s: { p: 80, k: "a" } });
  assert.deepEqual(v.parse(Schema, { s: { k: "b" } }), { s: { p: 80, k: "b" } });
  assert.equal(
    v.safeParse(Schema, { s: { p: 1.5 } }).issues?.[0]?.message,
    "must be an integer port from 1 to 65535, got 1.5",
  );
  assert.equal(
    v.safeParse(Schema, { s: { k: "c" } }).issues?.[0]?.message,
    'must be one of "a", "b", got "c"',
  );
});
