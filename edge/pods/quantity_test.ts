import assert from "node:assert/strict";
import { parseQuantity } from "./quantity.ts";

Deno.test("quantities parse with decimal, binary and exponent suffixes", () => {
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity(1.5), 1.5);
  assert.equal(parseQuantity("64Mi"), 64 * 1024 * 1024);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.throws(() => parseQuantity("12 apples"), /Cannot parse quantity/);
});
