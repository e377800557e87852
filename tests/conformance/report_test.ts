// The summary `make conformance` writes: rules read from skip.txt/causes.txt, ginkgo's JSON report counted.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseReport, parseRules, readRules, type RunFacts } from "./report.ts";
import { renderSummary } from "./summary.ts";

const spec = (leaf: string, State: string, message = "") => ({
  ContainerHierarchyTexts: ["[sig-node] Pods"],
  LeafNodeText: leaf,
  LeafNodeType: "It",
  State,
  RunTime: 2e9,
  Failure: message
    ? { Message: message, Location: { FileName: "/x/k8s.io/kubernetes/test/e2e/a.go", LineNumber: 7 } }
    : undefined,
});

const FACTS: RunFacts = {
  date: "d",
  k8sVersion: "v1.34.4",
  kedgeCommit: "abc",
  containerd: "containerd",
  minutes: 1,
  procs: 1,
  suiteSeconds: 60,
  exitCode: 0,
  focus: "\\[NodeConformance\\]",
  streaming: "logs ok, exec ok",
};

Deno.test("skip.txt and causes.txt: one regular expression and one reason per line, comments ignored", async () => {
  const rules = parseRules("# comment\n\n\\[Foo\\] bar # needs foo\nplain\n");
  assert.deepEqual(rules.map((r) => [r.pattern, r.reason]), [["\\[Foo\\] bar", "needs foo"], ["plain", ""]]);
  assert.ok(rules[0]!.regex.test("x [Foo] bar y"));
  for (const file of ["skip.txt", "causes.txt"]) {
    for (const rule of await readRules(fileURLToPath(new URL(file, import.meta.url)))) {
      assert.ok(rule.reason, `${file}: ${rule.pattern} has no reason`);
    }
  }
});

Deno.test("the report counts passed, failed, listed skips, suite skips and specs the time bound left", () => {
  const report = parseReport([{
    PreRunStats: { SpecsThatWillRun: 5 },
    SpecReports: [
      spec("a [NodeConformance]", "passed"),
      spec("b [NodeConformance]", "failed", "boom\nmore"),
      spec("c [NodeConformance]", "skipped"),
      spec("d [NodeConformance]", "skipped"),
      spec("e [NodeConformance]", "skipped", "Only supported for providers [gce]"),
      spec("f [Serial]", "skipped"),
      { LeafNodeType: "SynchronizedBeforeSuite", State: "passed" },
    ],
  }], "\\[NodeConformance\\]");
  assert.equal(report.specs.length, 5);
  const md = renderSummary(
    { ...FACTS, exitCode: 1, kubeedgeSkips: ["Pods b"] },
    report,
    parseRules("Pods c # needs c"),
    parseRules("nothing # x"),
  );
  assert.match(md, /\| \*\*passed\*\* \| \*\*1\*\* \|/);
  assert.match(md, /\| \*\*failed\*\* \| \*\*1\*\* \|/);
  assert.match(md, /\| skipped by skip.txt \| 1 \|/);
  assert.match(md, /\| skipped by the suite itself .* \| 1 \|/);
  assert.match(md, /\| not run .* \| 1 \|/);
  assert.match(md, /Pass rate: 50.0 %/);
  assert.match(md, /`boom more` \(kubernetes\/test\/e2e\/a.go:7\)/);
  assert.match(md, /\| Pods b \| failed \|/);
});

Deno.test("the summary lists the specs make test runs, each with its feature and its state in the run", () => {
  const report = parseReport([{ SpecReports: [spec("a [NodeConformance]", "passed")] }], "NodeConformance");
  const facts = { ...FACTS, focus: "NodeConformance" };
  const subset = [
    { feature: "feature a", spec: "[sig-node] Pods a [NodeConformance]" },
    { feature: "feature z", spec: "[sig-node] Pods z [NodeConformance]" },
  ];
  const md = renderSummary(facts, report, [], [], subset);
  assert.match(md, /## In `make test`/);
  assert.match(md, /runs 2 of these specs/);
  assert.match(md, /- feature a: \[sig-node\] Pods a \[NodeConformance\] \(passed\)/);
  assert.match(md, /- feature z: \[sig-node\] Pods z \[NodeConformance\] \(not in the focus\)/);
  assert.doesNotMatch(renderSummary(facts, report, [], []), /In `make test`/);
});

Deno.test("the second phase: the rest of [Conformance] in its own section, [NodeConformance] not counted in it", () => {
  const first = parseReport(
    [{ SpecReports: [spec("a [NodeConformance] [Conformance]", "passed")] }],
    "NodeConformance",
  );
  const rest = parseReport(
    [{
      SpecReports: [
        spec("a [NodeConformance] [Conformance]", "skipped"),
        spec("g [Conformance]", "passed"),
        spec("h [Conformance]", "failed", "no route"),
        spec("i [Conformance]", "skipped"),
      ],
    }],
    "\\[Conformance\\]",
    "\\[NodeConformance\\]",
  );
  assert.equal(rest.specs.length, 3, "the first phase's spec is not one of the second's");
  const restFacts = { ...FACTS, focus: "\\[Conformance\\]", exclude: "\\[NodeConformance\\]", minutes: 9 };
  const md = renderSummary(
    { ...FACTS, kubeedgeSkips: ["Pods h"] },
    first,
    parseRules("Pods i # needs i"),
    parseRules("Pods h # h is missing"),
    [],
    { facts: restFacts, report: rest },
  );
  const section = md.slice(md.indexOf("## `\\[Conformance\\]` beyond `\\[NodeConformance\\]`"));
  assert.ok(section.length < md.length, "the section is there");
  assert.match(section, /\| \*\*passed\*\* \| \*\*1\*\* \|/);
  assert.match(section, /\| \*\*failed\*\* \| \*\*1\*\* \|/);
  assert.match(section, /\| skipped by skip.txt \| 1 \|/);
  assert.match(section, /### Failures by cause\n\n- \*\*h is missing\*\* \(1\):/);
  assert.match(section, /### Passed\n\n- \[sig-node\] Pods g \[Conformance\]/);
  assert.match(md, /\| Pods h \| failed \|/, "KubeEdge's list is compared with both runs");
});
