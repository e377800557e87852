// Runs Kubernetes' e2e suite through ginkgo's CLI against a ConformanceNode (node.ts): parallel processes, a
// time bound, focus and skip, and a JSON report (report.ts reads it). ginkgo's processes (e2e.test) are its
// children; what of them outlives it is killed by the run folder or kubeconfig its command line names.
import { controlPlaneBinaries, type RunDir, type Spawned, spawnLogged } from "../cluster/mod.ts";
import { killAndWait, listProcesses } from "../cluster/reap.ts";
import type { ConformanceBinaries } from "./binaries.ts";
import type { ConformanceNode } from "./node.ts";

export interface SuiteOptions {
  procs: number;
  minutes: number;
  /** Go regular expressions; a spec runs when its full text matches any of them. */
  focus: string[];
  skip?: string;
  /** Where ginkgo writes report.json (and the suite its own files). */
  reportDir: string;
  /** The log's name in the run folder (`<name>.log`); "e2e" by default. */
  name?: string;
}

/** Starts ginkgo, its log in `<run>/e2e.log` (or `<name>.log`); `status` resolves when the suite ends. */
export async function startSuite(
  run: RunDir,
  bins: ConformanceBinaries,
  node: ConformanceNode,
  options: SuiteOptions,
): Promise<Spawned> {
  await Deno.mkdir(options.reportDir, { recursive: true });
  const { kubectl } = await controlPlaneBinaries();
  const args = [
    `--procs=${options.procs}`,
    `--timeout=${options.minutes}m`,
    ...options.focus.map((f) => `--focus=${f}`),
    ...(options.skip ? [`--skip=${options.skip}`] : []),
    "--no-color",
    "--silence-skips",
    `--output-dir=${options.reportDir}`,
    "--json-report=report.json",
    bins.e2eTest,
    "--",
    `--kubeconfig=${node.cp.kubeconfigPath}`,
    "--provider=skeleton",
    `--kubectl-path=${kubectl}`,
    "--num-nodes=1",
    `--report-dir=${options.reportDir}`,
    "--disable-log-dump",
    "--dump-logs-on-failure=false",
    `--e2e-output-dir=${options.reportDir}`,
  ];
  return await spawnLogged(run, options.name ?? "e2e", bins.ginkgo, args, {
    KUBE_TEST_REPO_LIST: node.repoList,
  });
}

/**
 * A focus that matches exactly one spec's full text, regular expression characters escaped. ginkgo matches
 * the focus against the suite's description ("Kubernetes e2e suite"), a space and the spec's text, so the
 * start is a space or the start of the text, not `^` alone.
 */
export function exactly(fullText: string): string {
  return `(?:^| )${fullText.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

/** Kills what of the suite is still running: processes naming the run folder (or the kubeconfig). */
export async function killLeftovers(run: RunDir, kubeconfig?: string): Promise<void> {
  await killNaming([run.path, ...kubeconfig !== undefined ? [kubeconfig] : []]);
}

/** Kills the processes (but this one) whose command line or environment names one of `paths`. */
export async function killNaming(paths: string[]): Promise<void> {
  const left = listProcesses().filter((p) => p.pid !== Deno.pid && paths.some((path) => p.names(path)));
  await killAndWait(left.map((p) => p.pid));
}
