import assert from "node:assert/strict";
import { exceedsJsonDepth } from "./json_depth.ts";

Deno.test("exceedsJsonDepth counts nested objects and arrays against the limit", () => {
  assert.equal(exceedsJsonDepth('{"a":[1,{"b":[]}]}', 4), false);
  assert.equal(exceedsJsonDepth('{"a":[1,{"b":[]}]}', 3), true);
  assert.equal(exceedsJsonDepth("[][][][]", 1), false);
  assert.equal(exceedsJsonDepth("1", 1), false);
});

Deno.test("exceedsJsonDepth ignores brackets inside strings and honours escapes", () => {
  assert.equal(exceedsJsonDepth('["[[[[{{{{"]', 1), false);
  assert.equal(exceedsJsonDepth('["\\"[[[["]', 1), false);
  // After an escaped backslash the quote closes the string, so the next bracket counts.
  assert.equal(exceedsJsonDepth('["\\\\",[]]', 1), true);
});

Deno.test("exceedsJsonDepth stops at an unmatched closer and leaves the verdict to JSON.parse", () => {
  assert.equal(exceedsJsonDepth("]" + "[".repeat(100), 8), false);
  assert.throws(() => JSON.parse("]" + "[".repeat(100)), SyntaxError);
});
