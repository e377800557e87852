// Reads ginkgo's JSON report of a `make conformance` run and the rules of skip.txt and causes.txt;
// summary.ts renders docs/conformance.md from them.

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

/** `exclude`: specs the run left out on purpose besides skip.txt (a phase's other specs), not counted at all. */
export async function readReport(file: string, focus: string, exclude?: string): Promise<Report> {
  const suites = JSON.parse(await Deno.readTextFile(file)) as SuiteReport[];
  return parseReport(suites, focus, exclude);
}

export function parseReport(suites: SuiteReport[], focus: string, exclude?: string): Report {
  const focusRe = new RegExp(focus);
  const excludeRe = exclude ? new RegExp(exclude) : undefined;
  const specs: Outcome[] = [];
  let willRun = 0;
  for (const suite of suites) {
    willRun += suite.PreRunStats?.SpecsThatWillRun ?? 0;
    for (const spec of suite.SpecReports ?? []) {
      if (spec.LeafNodeType !== "It") continue;
      const text = fullText(spec);
      if (!focusRe.test(text) || excludeRe?.test(text)) continue;
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
  /** Specs of the focus this run left out besides skip.txt (the second phase: `[NodeConformance]`). */
  exclude?: string;
  streaming: string;
  kubeedgeSkips?: string[];
  /** Focused runs whose results replaced the same specs' of this one (run.ts --render --rerun). */
  reruns?: Array<{ date: string; focus: string; specs: number }>;
  /** Sentences about the run (run.ts --render --note). */
  notes?: string[];
}
