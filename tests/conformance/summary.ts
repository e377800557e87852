// Renders docs/conformance.md from the runs of `make conformance` (report.ts reads them): for the
// `[NodeConformance]` run and, when there is one, the run of the rest of `[Conformance]`, the figures, the
// failures grouped by cause (tests/conformance/causes.txt), the skip list with its reasons
// (tests/conformance/skip.txt) and what passed; the part `make test` runs (tests/conformance/subset.ts) and
// KubeEdge's own skip list beside ours.
import type { Outcome, Report, Rule, RunFacts, State } from "./report.ts";
import type { SubsetSpec } from "./subset.ts";

/** One run of the suite: its facts and its report. */
export interface Phase {
  facts: RunFacts;
  report: Report;
}

type Print = (line?: string) => void;

/** The specs `make test` runs (tests/conformance/subset.ts), each with the feature it covers and its state here. */
function renderSubset(p: Print, subset: readonly SubsetSpec[], specs: Outcome[]) {
  p("## In `make test`");
  p();
  p(`\`tests/conformance_subset_e2e_test.ts\` runs ${subset.length} of these specs in \`make test\`, so that a regression`);
  p("shows in CI and not only here: one spec per node feature, each passing in the runs before it was chosen");
  p("and quick (the list, with reasons, is `tests/conformance/subset.ts`). The file fails when one of them fails");
  p("or does not run, and names it with the suite's message. What each covers, and its result in this run:");
  p();
  for (const { feature, spec } of subset) {
    const state = specs.find((s) => s.text === spec)?.state ?? "not in the focus";
    p(`- ${md(feature)}: ${md(spec)} (${state})`);
  }
  p();
}

const oneLine = (text: string, max = 220) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
};
const md = (text: string) => text.replace(/\|/g, "\\|").replace(/</g, "&lt;");
const pct = (a: number, b: number) => b === 0 ? "n/a" : `${((100 * a) / b).toFixed(1)} %`;

function classify(report: Report, skipRules: Rule[]) {
  const by = (state: State) => report.specs.filter((s) => s.state === state);
  const skipped = by("skipped");
  return {
    passed: by("passed"),
    failed: [...by("failed"), ...by("interrupted")],
    listed: skipped.filter((s) => skipRules.some((r) => r.regex.test(s.text))),
    notRun: skipped.filter((s) => !skipRules.some((r) => r.regex.test(s.text))),
    suiteSkipped: by("suite-skipped"),
  };
}

function renderFacts(p: Print, facts: RunFacts) {
  p(`- Date: ${facts.date}; kedge ${facts.kedgeCommit} (working tree); Kubernetes ${facts.k8sVersion}; ${facts.containerd}`);
  p(
    `- Suite run time: ${
      Math.round(facts.suiteSeconds / 60)
    } min (bound ${facts.minutes} min), ${facts.procs} ginkgo processes, exit code ${facts.exitCode}`,
  );
  p(`- Pre-flight, an agnhost pod through the apiserver and the stream tunnel: ${oneLine(facts.streaming)}`);
  for (const rerun of facts.reruns ?? []) {
    p(`- Rerun ${rerun.date}, focus \`${rerun.focus}\`: its ${rerun.specs} results replace the same specs' above`);
  }
  for (const note of facts.notes ?? []) p(`- ${note}`);
  p();
}

/** The figures of one run: the table and the pass rate. */
function renderFigures(p: Print, phase: Phase, skipRules: Rule[]) {
  const { specs } = phase.report;
  const { passed, failed, listed, notRun, suiteSkipped } = classify(phase.report, skipRules);
  const ran = passed.length + failed.length;
  p("| | specs |");
  p("|---|---:|");
  p(`| selected by the focus | ${specs.length} |`);
  p(`| skipped by skip.txt | ${listed.length} |`);
  p(`| ran | ${ran} |`);
  p(`| **passed** | **${passed.length}** |`);
  p(`| **failed** | **${failed.length}** |`);
  p(`| skipped by the suite itself (a precondition it checks) | ${suiteSkipped.length} |`);
  p(`| not run (the time bound ended the run first) | ${notRun.length} |`);
  p();
  p(
    `Pass rate: ${pct(passed.length, ran)} of the specs that ran; ${
      pct(passed.length, specs.length - listed.length)
    } of the selected specs not on the skip list.`,
  );
  p();
}

/** Failures by cause, the skip list's hits, the suite's own skips, the time bound's leftovers, what passed. */
function renderDetails(p: Print, phase: Phase, skipRules: Rule[], causeRules: Rule[], h: string) {
  const { passed, failed, listed, notRun, suiteSkipped } = classify(phase.report, skipRules);
  p(`${h} Failures by cause`);
  p();
  if (failed.length === 0) p("None.");
  const unexplained: Outcome[] = [];
  const groups = new Map<string, Outcome[]>();
  for (const spec of failed) {
    const rule = causeRules.find((r) => r.regex.test(spec.text));
    if (!rule) unexplained.push(spec);
    else groups.set(rule.reason, [...(groups.get(rule.reason) ?? []), spec]);
  }
  for (const [cause, list] of groups) {
    p(`- **${md(cause)}** (${list.length}):`);
    for (const spec of list) p(`  - ${md(spec.text)}${spec.state === "interrupted" ? " (interrupted)" : ""}`);
  }
  if (unexplained.length > 0) {
    p(`- **Cause not analysed yet** (${unexplained.length}; the suite's message):`);
    for (const spec of unexplained) {
      p(`  - ${md(spec.text)}: \`${oneLine(spec.message, 300).replace(/`/g, "'")}\` (${spec.location})`);
    }
  }
  p();

  p(`${h} Skip list`);
  p();
  p("Each entry of `tests/conformance/skip.txt` with the specs it took out of this run.");
  p();
  for (const rule of skipRules) {
    const hit = listed.filter((s) => rule.regex.test(s.text));
    p(`- \`${md(rule.pattern)}\`: ${md(rule.reason)} (${hit.length})`);
    for (const spec of hit) p(`  - ${md(spec.text)}`);
  }
  p();
  if (suiteSkipped.length > 0) {
    p(`${h} Skipped by the suite itself`);
    p();
    p("Specs that skipped themselves at run time; where the reason is a kedge gap, the cause from causes.txt");
    p("says so (such a skip is a failure in all but name).");
    p();
    for (const spec of suiteSkipped) {
      const cause = causeRules.find((r) => r.regex.test(spec.text));
      p(`- ${md(spec.text)}: ${md(oneLine(spec.message))}${cause ? `. **Cause: ${md(cause.reason)}**` : ""}`);
    }
    p();
  }
  if (notRun.length > 0) {
    p(`${h} Not run (time bound)`);
    p();
    p(`${notRun.length} selected specs had not started when the ${phase.facts.minutes} min bound ended the run.`);
    p();
  }
  p(`${h} Passed`);
  p();
  for (const spec of passed.toSorted((a, b) => a.text.localeCompare(b.text))) {
    p(`- ${md(spec.text)} (${Math.round(spec.seconds)} s)`);
  }
  p();
}

/**
 * The page: `first` (the `[NodeConformance]` run, or a focused one) and, when given, `rest`, the run of
 * `[Conformance]` without `[NodeConformance]`, in a section of its own with the same parts.
 */
/**
 * What the test environment gives the suite that a real cluster has and this one-machine setup lacks, so a
 * reader can tell the node's results from the setup's (tests/conformance/node.ts, build_images.sh say more).
 */
function renderEnvironment(p: Print): void {
  for (
    const line of [
      "What the setup adds for the suite, none of it in kedge (each says why in its file):",
      "",
      "- images built here, served from the loopback registry under the names the suite pulls",
      "  (`tests/conformance/build_images.sh`): agnhost and sample-apiserver built from the suite's release,",
      "  upstream's busybox 1.37.0, nautilus and kitten as upstream builds them, and stand-ins on busybox for",
      "  httpd, nginx, jessie-dnsutils and etcd (the control plane's etcd binary);",
      "- apiserver flags (`tests/conformance/node.ts`): it advertises the machine's address, keeps watches 1800 s,",
      "  calls webhooks and aggregated API servers at their pod's IP (`--enable-aggregator-routing`: routable",
      "  only because the edge node is this machine), and has a front proxy for the aggregation layer;",
      "- for the `kubernetes` Service alone, what kube-proxy would do: pods route the Service range to this",
      "  machine and one DNAT rule on the pods' bridge sends 10.96.0.1:443 to the apiserver",
      "  (`tests/conformance/apiserver_access.ts`); no other Service is reachable from pods (skip.txt);",
      "- one CNI bridge network with portmap for the pods (`tests/containerd`), the bridge each pod's gateway.",
      "",
    ]
  ) p(line);
}

export function renderSummary(
  facts: RunFacts,
  report: Report,
  skipRules: Rule[],
  causeRules: Rule[],
  subset: readonly SubsetSpec[] = [],
  rest?: Phase,
): string {
  const out: string[] = [];
  const p: Print = (line = "") => out.push(line);
  const first: Phase = { facts, report };

  p("# Kubernetes conformance of a kedge edge node");
  p();
  p("Generated by `make conformance` (`tests/conformance/run.ts`); rerun it to refresh this page. Kubernetes'");
  p(`own e2e suite (\`e2e.test\` ${facts.k8sVersion}, focus \`${facts.focus}\`${
    rest ? `, then \`${rest.facts.focus}\` without \`${rest.facts.exclude ?? ""}\`` : ""
  }) against one kedge edgecore, the`);
  p("only schedulable node, running pods through containerd's CRI; control plane, cloudcore (with cloudStream for");
  p("`kubectl logs/exec`) and a loopback registry on the same machine. Skips are in `tests/conformance/skip.txt`,");
  p("failure causes in `tests/conformance/causes.txt` (one regular expression and one reason per line).");
  p();
  renderEnvironment(p);
  p("## Last run");
  p();
  renderFacts(p, facts);
  renderFigures(p, first, skipRules);
  if (subset.length > 0) renderSubset(p, subset, report.specs);
  renderDetails(p, first, skipRules, causeRules, "##");

  if (rest) {
    p(`## \`${rest.facts.focus}\` beyond \`${rest.facts.exclude ?? ""}\``);
    p();
    p(`The rest of the suite's \`${rest.facts.focus}\` specs, run after the above on the same node.`);
    p();
    renderFacts(p, rest.facts);
    renderFigures(p, rest, skipRules);
    renderDetails(p, rest, skipRules, causeRules, "###");
  }

  if (facts.kubeedgeSkips) {
    const specs = [...report.specs, ...rest?.report.specs ?? []];
    const listed = specs.filter((s) => s.state === "skipped" && skipRules.some((r) => r.regex.test(s.text)));
    p("## KubeEdge's skip list beside ours");
    p();
    p("KubeEdge v1.23.1 skips these cases for edge nodes (`build/conformance/kubernetes/edge_skip_case.yaml`);");
    p("what they are here (only specs of this run's focus are counted):");
    p();
    p("| KubeEdge skips | here |");
    p("|---|---|");
    for (const name of facts.kubeedgeSkips) {
      const hits = specs.filter((s) => s.text.includes(name));
      const here = hits.length === 0
        ? "not in the focus"
        : hits.map((s) => s.state === "skipped" ? (listed.includes(s) ? "skip.txt" : "not run") : s.state)
          .join(", ");
      p(`| ${md(name)} | ${here} |`);
    }
    p();
  }
  return out.join("\n");
}
