// `make conformance`: Kubernetes' own e2e suite (e2e.test of the control plane's version) against one kedge edge
// node, in two runs on the same node: `[NodeConformance]` first, then the rest of `[Conformance]` (`--focus`
// makes it one run of that focus instead). Starts the test control plane with its controllers, a loopback
// registry holding the images the suite's pods pull (binaries.ts lists them; KUBE_TEST_REPO_LIST points every
// registry of test/utils/image/manifest.go at it), a containerd, cloudcore with cloudStream (kubectl
// logs/exec) and one edgecore, the only node; runs the suite through ginkgo's CLI; writes the summary of both
// runs to docs/conformance.md. Everything it started is stopped at the end, also on failure or Ctrl-C.
//
//   deno run --allow-all tests/conformance/run.ts [--minutes 60] [--rest-minutes 60] [--procs 4] [--focus RE]
//     [--out FILE] [--keep-logs DIR]     (a bound of 0 leaves that run out; the second keeps in DIR/rest)
//   deno run --allow-all tests/conformance/run.ts --render DIR [--rest DIR2] [--rerun DIR3]... [--note TEXT]
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRunDir, type Spawned } from "../cluster/mod.ts";
import { waitFor } from "../containerd/pod_helpers.ts";
import { conformanceBinaries } from "./binaries.ts";
import { type ConformanceNode, type Kubectl, NODE, startConformanceNode } from "./node.ts";
import { readReport, readRules, type Report, type RunFacts } from "./report.ts";
import { SUBSET } from "./subset.ts";
import { killLeftovers, killNaming, startSuite } from "./suite.ts";
import { type Phase, renderSummary } from "./summary.ts";

const HERE = fileURLToPath(new URL("./", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const K8S_VERSION = Deno.env.get("K8S_VERSION") ?? "v1.34.4";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    /** The bound of the first run ([NodeConformance], or --focus); 0: no [NodeConformance] run. */
    minutes: { type: "string", default: "60" },
    /** The bound of the second run (the rest of [Conformance]); 0: no second run. */
    "rest-minutes": { type: "string", default: "60" },
    procs: { type: "string", default: "4" },
    /** One run of this focus instead of the two. */
    focus: { type: "string" },
    out: { type: "string", default: join(ROOT, "docs/conformance.md") },
    "keep-logs": { type: "string" },
    /** Start everything, check the node and kubectl logs/exec, stop: no suite. */
    preflight: { type: "boolean", default: false },
    /** No run: render the summary again from a kept run (its report.json, facts.json), e.g. after editing causes.txt. */
    render: { type: "string" },
    /** With --render: the second run from another kept folder (default: the `rest` folder of --render's). */
    rest: { type: "string" },
    /** With --render: a later focused run (kept folder) whose results replace the same specs' in the first. */
    rerun: { type: "string", multiple: true },
    /** With --render: a sentence for the summary's run facts (why a rerun, what differed). */
    note: { type: "string", multiple: true },
  },
});

function log(message: string) {
  console.log(`[conformance ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function toolVersion(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim().split("\n")[0] ?? "";
  } catch {
    return "unknown";
  }
}

/** The summary as `deno fmt` leaves it, so that `make lint` passes over docs/. */
async function writeSummary(text: string) {
  await Deno.writeTextFile(flags.out, text);
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", flags.out],
    stdout: "null",
    stderr: "inherit",
  })
    .output();
  log(`summary written to ${flags.out}`);
}

/** A kept run's facts and report (`dir`: the folder --keep-logs named, or its `rest` folder). */
async function readPhase(dir: string): Promise<Phase> {
  const facts = JSON.parse(await Deno.readTextFile(join(dir, "facts.json"))) as RunFacts;
  return { facts, report: await readReport(join(dir, "report.json"), facts.focus, facts.exclude) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function render(dir: string): Promise<number> {
  const first = await readPhase(dir);
  const restDir = flags.rest ?? join(dir, REST);
  const rest = await exists(join(restDir, "facts.json")) ? await readPhase(restDir) : undefined;
  for (const later of flags.rerun ?? []) {
    const laterPhase = await readPhase(later);
    const ran = laterPhase.report.specs.filter((s) => s.state !== "skipped");
    for (const phase of [first, rest]) {
      if (!phase) continue;
      const before = phase.report.specs;
      phase.report.specs = before.map((spec) => ran.find((r) => r.text === spec.text) ?? spec);
      const replaced = before.filter((spec) => ran.some((r) => r.text === spec.text)).length;
      if (replaced === 0) continue;
      phase.facts.reruns = [...phase.facts.reruns ?? [], {
        date: laterPhase.facts.date,
        focus: laterPhase.facts.focus,
        specs: replaced,
      }];
    }
  }
  if (flags.note) first.facts.notes = [...first.facts.notes ?? [], ...flags.note];
  const skipRules = await readRules(join(HERE, "skip.txt"));
  const causeRules = await readRules(join(HERE, "causes.txt"));
  await writeSummary(renderSummary(first.facts, first.report, skipRules, causeRules, SUBSET, rest));
  return 0;
}

/** The second run's folder in the kept one. */
const REST = "rest";

interface PhasePlan {
  focus: string;
  /** Left out besides skip.txt (the first run's specs). */
  exclude?: string;
  minutes: number;
  /** Where its logs, report and facts are kept. */
  keep: string;
}

async function main(): Promise<number> {
  if (flags.render) return await render(flags.render);
  // KEDGE_CONFORMANCE_DIR: binaries already built (make conformance runs build.sh first).
  const bins = await conformanceBinaries();
  if ("missing" in bins) throw new Error(bins.missing);
  const skipRules = await readRules(join(HERE, "skip.txt"));
  const causeRules = await readRules(join(HERE, "causes.txt"));
  const keep = flags["keep-logs"] ?? join(ROOT, ".kedge/conformance");
  const node = "\\[NodeConformance\\]";
  const plans: PhasePlan[] = flags.focus !== undefined
    ? [{ focus: flags.focus, minutes: Number(flags.minutes), keep }]
    : [
      ...Number(flags.minutes) > 0 ? [{ focus: node, minutes: Number(flags.minutes), keep }] : [],
      ...Number(flags["rest-minutes"]) > 0
        ? [{
          focus: "\\[Conformance\\]",
          exclude: node,
          minutes: Number(flags["rest-minutes"]),
          keep: join(keep, REST),
        }]
        : [],
    ];
  log(`e2e suite in ${bins.dir}; starting the control plane`);

  let conformanceNode: ConformanceNode | undefined;
  let suite: Spawned | undefined;
  let interrupted = false;
  const interrupt = () => {
    log("interrupted: stopping the suite");
    interrupted = true;
    suite?.stop(20_000);
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  const run = await createRunDir("conformance");
  try {
    conformanceNode = await startConformanceNode(run, bins.layout);
    const preflight = await checkStreaming(conformanceNode.kubectl, conformanceNode.images.agnhost!);
    log(`edge node ${NODE} Ready; kubectl logs/exec: ${preflight}`);
    if (flags.preflight) return preflight === "logs ok, exec ok" ? 0 : 1;

    const phases: Phase[] = [];
    for (const [i, plan] of plans.entries()) {
      if (interrupted) break;
      const name = i === 0 ? "e2e" : `e2e-${REST}`;
      const reportDir = join(run.path, `report-${i}`);
      const skip = [...skipRules.map((r) => r.pattern), ...plan.exclude ? [plan.exclude] : []]
        .map((pattern) => `(?:${pattern})`).join("|");
      log(
        `running ${plan.focus}${
          plan.exclude ? ` without ${plan.exclude}` : ""
        } for at most ${plan.minutes} min`,
      );
      const started = new Date();
      const suiteStart = Date.now();
      suite = await startSuite(run, bins, conformanceNode, {
        procs: Number(flags.procs),
        minutes: plan.minutes,
        focus: [plan.focus],
        skip,
        reportDir,
        name,
      });
      const status = await suite.status;
      suite = undefined;
      const suiteSeconds = (Date.now() - suiteStart) / 1000;
      log(`suite exited ${status.code} after ${Math.round(suiteSeconds)} s`);
      // What of this run outlives ginkgo names its report folder (e2e.test's --report-dir).
      await killNaming([reportDir]);

      await Deno.mkdir(plan.keep, { recursive: true });
      await Deno.copyFile(join(run.path, `${name}.log`), join(plan.keep, "e2e.log")).catch(() => {});
      await Deno.copyFile(join(reportDir, "report.json"), join(plan.keep, "report.json")).catch(() => {});
      const report: Report = await readReport(join(reportDir, "report.json"), plan.focus, plan.exclude)
        .catch((error) => {
          log(`no report: ${error}`);
          return { specs: [], willRun: 0 };
        });
      const facts: RunFacts = {
        date: started.toISOString().slice(0, 16).replace("T", " ") + " UTC",
        k8sVersion: K8S_VERSION,
        kedgeCommit: await toolVersion("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]),
        containerd: await toolVersion("containerd", ["--version"]),
        minutes: plan.minutes,
        procs: Number(flags.procs),
        suiteSeconds,
        exitCode: status.code,
        focus: plan.focus,
        ...plan.exclude ? { exclude: plan.exclude } : {},
        streaming: preflight,
        kubeedgeSkips: await kubeedgeSkipList(),
      };
      await Deno.writeTextFile(join(plan.keep, "facts.json"), JSON.stringify(facts, null, 1));
      phases.push({ facts, report });
    }
    // The node first, in order: containerd removes every sandbox through CRI, so CNI DEL takes portmap's
    // hostPort rules out of the machine's iptables (killed before, containerd left them behind, and a later
    // run's pod on the same hostPort was shadowed by a rule to an address gone). Then what of the suite is
    // left (processes naming the run folder or the kubeconfig).
    await conformanceNode.stop();
    await killLeftovers(run, conformanceNode.cp.kubeconfigPath);
    for (const name of ["cloudcore.log", `${NODE}-run.log`, "containerd.log"]) {
      await Deno.copyFile(join(run.path, name), join(keep, name)).catch(() => {});
    }
    const [first, rest] = phases;
    if (first) {
      await writeSummary(renderSummary(first.facts, first.report, skipRules, causeRules, SUBSET, rest));
    }
    log(`logs and reports in ${keep} (--render ${keep} renders the summary again)`);
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
    Deno.removeSignalListener("SIGTERM", interrupt);
    await suite?.stop(20_000);
    await conformanceNode?.stop();
    await killLeftovers(run);
    await run.remove();
  }
}

/** One pod of the suite's agnhost image: its logs and an exec through the apiserver, cloudcore and the tunnel. */
async function checkStreaming(kubectl: Kubectl, image: string): Promise<string> {
  const applied = await kubectl(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Pod
metadata: {name: preflight, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: "${image}", args: ["netexec", "--http-port=8080"]}
`,
  );
  if (applied.code !== 0) return `pod not created: ${applied.stderr.trim()}`;
  try {
    await waitFor(
      "preflight Running",
      async () => {
        const out = await kubectl(["get", "pod", "preflight", "-o", "jsonpath={.status.phase}"]);
        return out.stdout === "Running";
      },
      120_000,
      1000,
    );
    const logs = await kubectl(["logs", "preflight"]);
    const exec = await kubectl(["exec", "preflight", "--", "/agnhost", "--help"]);
    const parts = [
      logs.code === 0 ? "logs ok" : `logs failed: ${logs.stderr.trim()}`,
      exec.code === 0 ? "exec ok" : `exec failed: ${exec.stderr.trim()}`,
    ];
    return parts.join(", ");
  } catch (error) {
    const pods = await kubectl(["get", "pods", "-o", "wide"]);
    return `agnhost pod not Running: ${(error as Error).message}\n${pods.stdout}`;
  } finally {
    await kubectl(["delete", "pod", "preflight", "--wait=false"]);
  }
}

/** KubeEdge v1.23.1's build/conformance/kubernetes/edge_skip_case.yaml, when its source snapshot is here. */
async function kubeedgeSkipList(): Promise<string[] | undefined> {
  const out = await new Deno.Command("git", {
    args: [
      "--git-dir=/work/.mirror/kubeedge+kubeedge/repo",
      "show",
      "v1.23.1:build/conformance/kubernetes/edge_skip_case.yaml",
    ],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!out?.success) return undefined;
  return new TextDecoder().decode(out.stdout).split("\n")
    .map((line) => line.match(/^\s*-\s*codename:\s*(.+?)\s*$/)?.[1])
    .filter((name): name is string => !!name);
}

try {
  Deno.exit(await main());
} catch (error) {
  console.error(`make conformance failed: ${(error as Error).stack ?? error}`);
  Deno.exit(1);
}
