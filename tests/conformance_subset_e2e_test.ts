// A small part of Kubernetes' conformance suite in `make test`, so that a regression of a node feature shows
// in CI and not only in the next `make conformance`: 14 [NodeConformance] specs of e2e.test v1.34.4, each of
// another node feature, all passing in the last runs (docs/conformance.md) and quick, run by ginkgo against
// one kedge edgecore on containerd, the only node (tests/conformance/node.ts, as `make conformance` does).
// Fails when a selected spec fails or does not run, naming each with the suite's reason. Skipped, with the
// build script's one line, where the suite cannot be built (tests/conformance/build.sh exit 3).
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunDir, type Spawned } from "./cluster/mod.ts";
import { conformanceBinaries } from "./conformance/binaries.ts";
import { type ConformanceNode, HOST_IP, startConformanceNode } from "./conformance/node.ts";
import { type Outcome, readReport } from "./conformance/report.ts";
import { exactly, killLeftovers, startSuite } from "./conformance/suite.ts";

/** Full texts as `e2e.test --ginkgo.dry-run` prints them; each line's comment is the feature it covers. */
const SUBSET = [
  // kubectl exec through the apiserver, cloudcore's stream server and the edge's tunnel
  "[sig-node] Pods should support remote command execution over websockets [NodeConformance] [Conformance]",
  // container logs, the same way
  "[sig-node] Pods should support retrieving logs from the container over websockets [NodeConformance] [Conformance]",
  // resourceFieldRef env vars (limits and requests, divisors)
  "[sig-node] Downward API should provide container's limits.cpu/memory and requests.cpu/memory as env vars [NodeConformance] [Conformance]",
  // resourceFieldRef in a downwardAPI volume
  "[sig-storage] Downward API volume should provide container's memory limit [NodeConformance] [Conformance]",
  // configMap volume items: key to path, per-item mode
  "[sig-storage] ConfigMap should be consumable from pods in volume with mappings and Item mode set [LinuxOnly] [NodeConformance] [Conformance]",
  // secret volume defaultMode
  "[sig-storage] Secrets should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]",
  // emptyDir medium Memory: a tmpfs with the right mode
  "[sig-storage] EmptyDir volumes volume on tmpfs should have the correct mode [LinuxOnly] [NodeConformance] [Conformance]",
  // terminationMessagePath: the file written by a non-root user at another path
  "[sig-node] Container Runtime blackbox test on terminated container should report termination message if TerminationMessagePath is set as non-root user and at a non-default path [NodeConformance] [Conformance]",
  // restart policies, restart count, phase and state of exiting containers
  "[sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]",
  // postStart exec hook
  "[sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute poststart exec hook properly [NodeConformance] [Conformance]",
  // exec liveness probe failing: the container is restarted
  '[sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]',
  // init containers run in order before the app container, status as the kubelet's
  "[sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartNever pod [Conformance]",
  // the pod's /etc/hosts managed as the kubelet does (and left alone for host network or a mounted one)
  "[sig-node] KubeletManagedEtcHosts should test kubelet managed /etc/hosts file [NodeConformance] [Conformance]",
  // admission: a pod for another OS is rejected
  "[sig-node] PodOSRejection [NodeConformance] Kubelet [LinuxOnly] should reject pod when the node OS doesn't match pod's OS",
];

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
      const focus = SUBSET.map(exactly);
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
      const notPassed = SUBSET.filter((name) =>
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
