// ginkgo's focus for one spec: exact, its regular expression characters escaped.
import assert from "node:assert/strict";
import { SUBSET } from "./subset.ts";
import { exactly } from "./suite.ts";

Deno.test("exactly(): matches the spec's full text alone or after ginkgo's suite description, nothing longer", () => {
  const name =
    '[sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe (x.y)';
  const re = new RegExp(exactly(name));
  assert.ok(re.test(name));
  assert.ok(re.test(`Kubernetes e2e suite ${name}`));
  assert.ok(!re.test(`${name} [Slow]`));
  assert.ok(!re.test(`x${name}`));
  assert.ok(!re.test(name.replace("(x.y)", "(xzy)")), "a dot is a dot");
});

Deno.test("the make test subset: distinct [NodeConformance] specs, each with the feature it covers", () => {
  assert.ok(SUBSET.length >= 10);
  assert.equal(new Set(SUBSET.map((s) => s.spec)).size, SUBSET.length);
  assert.equal(new Set(SUBSET.map((s) => s.feature)).size, SUBSET.length);
  for (const { spec, feature } of SUBSET) {
    assert.match(spec, /\[NodeConformance\]/);
    assert.ok(feature.length > 0);
  }
});
