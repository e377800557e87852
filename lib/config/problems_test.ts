import assert from "node:assert/strict";
import * as v from "valibot";
import { section, str, stringMap } from "./fields.ts";
import { dottedPath, formatProblem, unknownKeys } from "./problems.ts";

Deno.test("dottedPath joins plain keys with dots and brackets indexes and odd keys", () => {
  assert.equal(dottedPath([]), "(document)");
  assert.equal(dottedPath(["modules", "cloudHub", "nodeLimit"]), "modules.cloudHub.nodeLimit");
  assert.equal(dottedPath(["cloudHub", "advertiseAddress", 1]), "cloudHub.advertiseAddress[1]");
  assert.equal(
    dottedPath(["nodeLabels", "node-role.kubernetes.io/edge"]),
    'nodeLabels["node-role.kubernetes.io/edge"]',
  );
});

Deno.test("formatProblem reads '<path>: <message>' and adds the position when known", () => {
  assert.equal(formatProblem({ path: ["a", "b"], message: "must be x" }), "a.b: must be x");
  assert.equal(formatProblem({ path: ["a"], message: "m", line: 3, column: 7 }), "a: m (line 3, column 7)");
});

const Schema = v.strictObject({
  edged: section({ hostnameOverride: str(""), nodeLabels: stringMap() }),
  list: v.optional(v.array(v.strictObject({ name: v.string() })), () => []),
});

Deno.test("unknownKeys finds typos at every depth, suggesting the nearest known key", () => {
  const found = unknownKeys(Schema, {
    edged: { hostnameoverride: "x", nodeLabels: { "any.key/ok": "v" } },
    list: [{ name: "a" }, { name: "b", nmae: "c" }],
    zzz: 1,
  });
  assert.deepEqual(found, [
    { path: ["edged", "hostnameoverride"], message: 'unknown key, did you mean "hostnameOverride"?' },
    { path: ["list", 1, "nmae"], message: 'unknown key, did you mean "name"?' },
    { path: ["zzz"], message: "unknown key, expected one of: edged, list" },
  ]);
});

Deno.test("unknownKeys leaves the keys of a free-form map alone", () => {
  assert.deepEqual(unknownKeys(Schema, { edged: { nodeLabels: { whatever: "x" } } }), []);
});
