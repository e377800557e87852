// A small part of Kubernetes' conformance suite in `make test`, so that a regression of a node feature shows
// in CI and not only in the next `make conformance`: the [NodeConformance] specs of e2e.test v1.34.4 listed in
// tests/conformance/subset.ts (one per node feature, all passing in the last runs and quick), run by ginkgo
// against one kedge edgecore on containerd, the only node (tests/conformance/node.ts, as `make conformance`).
// Fails when a selected spec fails or does not run, naming each with the suite's reason. Skipped, with the
// build script's one line, where the suite cannot be built (tests/conformance/build.sh exit 3).
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunDir, type Spawned } from "./cluster/mod.ts";
import { conformanceBinaries } from "./conformance/binaries.ts";
import { type ConformanceNode, HOST_IP, startConformanceNode } from "./conformance/node.ts";
import { type Outcome, readReport } from "./conformance/report.ts";
import { SUBSET } from "./conformance/subset.ts";
import { exactly, killLeftovers, startSuite } from "./conformance/suite.ts";

/** Bound of the suite (ginkgo --timeout); make test kills a file after 600 s. */
const SUITE_MINUTES = 5;
const PROCS = 2;

const bins = await conformanceBinaries();
if ("missing" in bins) console.log(`skipping the conformance subset: ${bins.missing}`);

function describe(spec: Outcome): string {
  const message = spec.message.replace(/\s+/g, " ").trim();
  return `${spec.state.toUpperCase()} ${spec.text} (${Math.round(spec.seconds)} s)${
    spec.state === "passed"
      ? ""
      : `\n    ${message.slice(0, 600) || "(no message)"}${spec.location ? ` at ${spec.location}` : ""}`
  }`;
}

Deno.test({
  name: `${SUBSET.length} [NodeConformance] specs of Kubernetes' e2e suite pass against a kedge edge node`,
  ignore: "missing" in bins || HOST_IP === undefined,
  async fn() {
    if ("missing" in bins) return;
    const started = Date.now();
    const run = await createRunDir("conformance-subset");
    let node: ConformanceNode | undefined;
    let suite: Spawned | undefined;
    try {
      node = await startConformanceNode(run, bins.layout);
      const nodeSeconds = (Date.now() - started) / 1000;
      const reportDir = join(run.path, "report");
      const focus = SUBSET.map((s) => exactly(s.spec));
      suite = await startSuite(run, bins, node, { procs: PROCS, minutes: SUITE_MINUTES, focus, reportDir });
      const status = await suite.status;
      await killLeftovers(run, node.cp.kubeconfigPath);
      const suiteSeconds = (Date.now() - started) / 1000 - nodeSeconds;
      const report = await readReport(join(reportDir, "report.json"), focus.map((f) => `(?:${f})`).join("|"))
        .catch((error) => {
          const log = Deno.readTextFileSync(join(run.path, "e2e.log")).split("\n").slice(-30).join("\n");
          throw new Error(`Cannot read the suite's report (ginkgo exited ${status.code}): ${error}\n${log}`);
        });
      console.log(
        `node Ready in ${Math.round(nodeSeconds)} s; suite (${PROCS} processes) exited ${status.code} after ${
          Math.round(suiteSeconds)
        } s\n${report.specs.map(describe).join("\n")}`,
      );
      const ran = report.specs.filter((s) => s.state === "passed" || s.state === "failed");
      const notPassed = SUBSET.map((s) => s.spec).filter((name) =>
        report.specs.find((s) => s.text === name)?.state !== "passed"
      );
      const reasons = notPassed.map((name) => {
        const spec = report.specs.find((s) => s.text === name);
        return spec
          ? describe(spec)
          : `NOT RUN ${name} (not in the suite's report: renamed or not selected?)`;
      });
      assert.deepEqual(reasons, [], `${notPassed.length} of ${SUBSET.length} specs did not pass`);
      assert.equal(report.willRun, SUBSET.length, "ginkgo's focus selected another number of specs");
      assert.equal(ran.length, SUBSET.length, "another number of specs ran than were selected");
      assert.equal(status.code, 0, "ginkgo exited non-zero though every selected spec passed");
    } finally {
      await suite?.stop(20_000);
      await killLeftovers(run);
      await node?.stop();
      await run.remove();
    }
  },
});
