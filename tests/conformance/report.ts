// Reads ginkgo's JSON report of a `make conformance` run and renders docs/conformance.md: the figures, the
// failures grouped by cause (tests/conformance/causes.txt), the skip list with its reasons
// (tests/conformance/skip.txt), the part `make test` runs (tests/conformance/subset.ts) and KubeEdge's own
// skip list beside ours.
import type { SubsetSpec } from "./subset.ts";

/** One line of skip.txt or causes.txt: `<Go/JS regular expression>  # <reason or cause>`. */
export interface Rule {
  pattern: string;
  reason: string;
  regex: RegExp;
}

export async function readRules(file: string): Promise<Rule[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return parseRules(text);
}

export function parseRules(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const at = line.indexOf(" # ");
    const pattern = (at < 0 ? line : line.slice(0, at)).trim();
    const reason = at < 0 ? "" : line.slice(at + 3).trim();
    rules.push({ pattern, reason, regex: new RegExp(pattern) });
  }
  return rules;
}

export type State = "passed" | "failed" | "skipped" | "suite-skipped" | "interrupted";

export interface Outcome {
  text: string;
  state: State;
  seconds: number;
  /** Failure or skip message, first lines. */
  message: string;
  location: string;
}

export interface Report {
  /** Specs matching the focus (skip.txt's included), as ginkgo counted them before running. */
  specs: Outcome[];
  /** Specs ginkgo would have run (focus minus skip), from its pre-run statistics. */
  willRun: number;
}

interface SpecReport {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText?: string;
  LeafNodeType?: string;
  State?: string;
  RunTime?: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}

interface SuiteReport {
  PreRunStats?: { TotalSpecs?: number; SpecsThatWillRun?: number };
  SpecReports?: SpecReport[] | null;
}

export function fullText(spec: SpecReport): string {
  return [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText ?? ""].join(" ");
}

export async function readReport(file: string, focus: string): Promise<Report> {
  const suites = JSON.parse(await Deno.readTextFile(file)) as SuiteReport[];
  return parseReport(suites, focus);
}

export function parseReport(suites: SuiteReport[], focus: string): Report {
  const focusRe = new RegExp(focus);
  const specs: Outcome[] = [];
  let willRun = 0;
  for (const suite of suites) {
    willRun += suite.PreRunStats?.SpecsThatWillRun ?? 0;
    for (const spec of suite.SpecReports ?? []) {
      if (spec.LeafNodeType !== "It") continue;
      const text = fullText(spec);
      if (!focusRe.test(text)) continue;
      const message = (spec.Failure?.Message ?? "").trim();
      const state: State = spec.State === "passed"
        ? "passed"
        : spec.State === "skipped"
        ? (message ? "suite-skipped" : "skipped")
        : spec.State === "interrupted" || spec.State === "aborted"
        ? "interrupted"
        : "failed";
      const where = spec.Failure?.Location;
      specs.push({
        text,
        state,
        seconds: (spec.RunTime ?? 0) / 1e9,
        message,
        location: where?.FileName ? `${where.FileName.replace(/.*\/k8s\.io\//, "")}:${where.LineNumber}` : "",
      });
    }
  }
  return { specs, willRun };
}

export interface RunFacts {
  date: string;
  k8sVersion: string;
  kedgeCommit: string;
  containerd: string;
  minutes: number;
  procs: number;
  suiteSeconds: number;
  exitCode: number;
  focus: string;
  streaming: string;
  kubeedgeSkips?: string[];
  /** Focused runs whose results replaced the same specs' of this one (run.ts --render --rerun). */
  reruns?: Array<{ date: string; focus: string; specs: number }>;
  /** Sentences about the run (run.ts --render --note). */
  notes?: string[];
}

/** The specs `make test` runs (tests/conformance/subset.ts), each with the feature it covers and its state here. */
function renderSubset(p: (line?: string) => void, subset: readonly SubsetSpec[], specs: Outcome[]) {
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

export function renderSummary(
  facts: RunFacts,
  report: Report,
  skipRules: Rule[],
  causeRules: Rule[],
  subset: readonly SubsetSpec[] = [],
): string {
  const { specs } = report;
  const by = (state: State) => specs.filter((s) => s.state === state);
  const passed = by("passed");
  const failed = [...by("failed"), ...by("interrupted")];
  const listed = by("skipped").filter((s) => skipRules.some((r) => r.regex.test(s.text)));
  const notRun = by("skipped").filter((s) => !skipRules.some((r) => r.regex.test(s.text)));
  const suiteSkipped = by("suite-skipped");
  const ran = passed.length + failed.length;
  const out: string[] = [];
  const p = (line = "") => out.push(line);

  p("# Kubernetes conformance of a kedge edge node");
  p();
  p("Generated by `make conformance` (`tests/conformance/run.ts`); rerun it to refresh this page. Kubernetes'");
  p(`own e2e suite (\`e2e.test\` ${facts.k8sVersion}, focus \`${facts.focus}\`) against one kedge edgecore, the`);
  p("only schedulable node, running pods through containerd's CRI; control plane, cloudcore (with cloudStream for");
  p("`kubectl logs/exec`) and a loopback registry on the same machine. Skips are in `tests/conformance/skip.txt`,");
  p("failure causes in `tests/conformance/causes.txt` (one regular expression and one reason per line).");
  p();
  p("## Last run");
  p();
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

  if (subset.length > 0) renderSubset(p, subset, specs);
  p("## Failures by cause");
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

  p("## Skip list");
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
    p("## Skipped by the suite itself");
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
    p("## Not run (time bound)");
    p();
    p(`${notRun.length} selected specs had not started when the ${facts.minutes} min bound ended the run.`);
    p();
  }
  p("## Passed");
  p();
  for (const spec of passed.toSorted((a, b) => a.text.localeCompare(b.text))) {
    p(`- ${md(spec.text)} (${Math.round(spec.seconds)} s)`);
  }
  p();

  if (facts.kubeedgeSkips) {
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
