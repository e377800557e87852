import assert from "node:assert/strict";
import { longestFirst } from "./durations.ts";

Deno.test("test files run longest first, files never timed before all others", () => {
  const units = [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }];
  const durations = new Map([["a", 1_000], ["b", 240_000], ["d", 30_000]]);
  assert.deepEqual(longestFirst(units, durations).map((u) => u.name), ["c", "b", "d", "a"]);
});
