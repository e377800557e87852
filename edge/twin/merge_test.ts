import assert from "node:assert/strict";
import { deltaOf, mergeDesired, mergeFromBox, typeProblem } from "./merge.ts";
import type { Twins } from "./types.ts";

const stored: Twins = {
  temperature: {
    expected: { value: "20", metadata: { timestamp: 1 } },
    actual: { value: "18", metadata: { timestamp: 1 } },
    optional: true,
    metadata: { type: "int" },
    expected_version: { cloud: 3, edge: 0 },
    actual_version: { cloud: 0, edge: 5 },
  },
};

Deno.test("an actual value from the box bumps the edge version and is reported, with last and current", () => {
  const merged = mergeFromBox(stored, { temperature: { actual: { value: "20" } } }, 100);
  assert.deepEqual(merged.changed.temperature?.actual, { value: "20", metadata: { timestamp: 100 } });
  assert.deepEqual(merged.changed.temperature?.actual_version, { cloud: 0, edge: 6 });
  assert.deepEqual(merged.changed.temperature?.expected, stored.temperature?.expected);
  assert.equal(merged.reported.temperature?.actual?.value, "20");
  assert.equal(merged.document.temperature?.last, stored.temperature);
  assert.deepEqual(deltaOf({ ...stored, ...merged.changed }), {});
});

Deno.test("a desired value from the cloud sets expected and the cloud version, and shows in the delta", () => {
  const merged = mergeDesired(stored, { temperature: { expected: { value: "25" } } }, 100);
  assert.deepEqual(merged.changed.temperature?.expected_version, { cloud: 4, edge: 0 });
  assert.deepEqual(deltaOf({ ...stored, ...merged.changed }), { temperature: "25" });
  assert.deepEqual(merged.reported, {});
});

Deno.test("a desired value with a cloud version not newer than the stored one is ignored", () => {
  const stale = mergeDesired(stored, {
    temperature: { expected: { value: "99" }, expected_version: { cloud: 3, edge: 0 } },
  }, 100);
  assert.deepEqual(stale.changed, {});
  const same = mergeDesired(stored, { temperature: { expected: { value: "20" } } }, 100);
  assert.deepEqual(same.changed, {}, "an unchanged desired value changes nothing");
});

Deno.test("a value that does not fit the property's type is a problem", () => {
  assert.match(typeProblem(stored, { temperature: { actual: { value: "warm" } } }) ?? "", /not an int/);
  assert.equal(typeProblem(stored, { temperature: { actual: { value: "-3" } } }), undefined);
  assert.match(
    typeProblem({}, { on: { actual: { value: "yes" }, metadata: { type: "boolean" } } }) ?? "",
    /boolean/,
  );
});
