/**
 * What the soak prints at the end: one Markdown table of figures (memory slopes after warm-up, event-loop
 * lag, CPU, apiserver requests per edge per minute, churn, restarts, consistency), cloudcore's requests by
 * kind, and the node-by-node comparison. Returns whether every node held exactly what it should.
 */
import { join } from "node:path";
import type { ChurnCounts } from "./soak_churn.ts";
import { type NodeResult, problems } from "./soak_consistency.ts";
import { cpuPercent, fmtSlope, lag, samplesCsv, slope, table } from "./soak_report.ts";
import type { Sample } from "./soak_sampler.ts";

export interface RunFacts {
  minutes: number;
  edges: number;
  date: string;
  loadBefore: string;
  loadAfter: string;
  events: Array<{ t: number; what: string }>;
}

export interface ReportInput {
  facts: RunFacts;
  samples: Sample[];
  cloudRestartS: number;
  audit: Map<string, number>;
  churnSeconds: number;
  nodes: number;
  churn: ChurnCounts;
  /** The simulated edges' counts over the churn (their `report` event). */
  sims: Record<string, unknown>;
  /** Each comparison made; the last one decides. */
  tries: NodeResult[][];
  notRunning: string[];
  keep: string | undefined;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
const mib = (bytes: number | undefined) =>
  bytes === undefined || !Number.isFinite(bytes) ? "-" : (bytes / 1048576).toFixed(0);

export function printReport(r: ReportInput): boolean {
  const { facts, samples } = r;
  const end = samples.at(-1)?.t ?? 0;
  const warm = Math.min(120, (facts.minutes * 60) / 6);
  const first = samples.filter((s) => s.cloudInstance === 1);
  const second = samples.filter((s) => s.cloudInstance === 2);
  const secondFrom = (second[0]?.t ?? end) + warm;
  const cloudRss = (s: Sample) => s.cloud.rss;
  const cloudHeap = (s: Sample) => s.cloud.heapMin;
  const edgeRss = (s: Sample) => s.edge.rss;
  const edgeHeap = (s: Sample) => s.edge.heapMin;
  const last = samples.at(-1);
  const minutes = r.churnSeconds / 60;
  const requests = sum(r.audit.values());
  const scraped = (s: Sample) => Number.isFinite(s.cloud.rss);
  const restarts = Object.entries(first.filter(scraped).at(-1)?.watchRestarts ?? {})
    .map(([k, v]) => `${k || "?"} ${v}`).join(", ");
  const restarts2 = Object.entries(second.filter(scraped).at(-1)?.watchRestarts ?? {}).map(([k, v]) =>
    `${k || "?"} ${v}`
  ).join(", ");
  const sims = r.sims as {
    sent: Record<string, number>;
    errors: Record<string, number>;
    connects: number;
    disconnects: number;
    cpuUs: number;
    loopLagMaxMs: number;
    errorSamples: string[];
  };
  const final = r.tries.at(-1) ?? [];
  const firstTry = r.tries[0] ?? [];
  const count = (rs: NodeResult[], f: (x: NodeResult) => number) => sum(rs.map(f));
  const totalProblems = count(final, problems);
  const consistency = (rs: NodeResult[]) =>
    `missing ${count(rs, (x) => x.missing.length)}, extra ${count(rs, (x) => x.extra.length)}, stale ${
      count(rs, (x) => x.stale.length)
    }, devices missing/extra ${count(rs, (x) => x.devicesMissing.length)}/${
      count(rs, (x) => x.devicesExtra.length)
    }, twin mismatches ${count(rs, (x) => x.twinMismatches.length)} (objects expected ${
      count(rs, (x) => x.expected)
    }, held ${count(rs, (x) => x.held)}, held newer than the list ${count(rs, (x) => x.ahead)})`;

  const out: string[] = [];
  out.push(
    `\n## Soak ${
      facts.date.slice(0, 16)
    }Z: ${facts.minutes} min, 1 real edgecore + ${facts.edges} simulated edges\n`,
  );
  out.push(table(["", "value"], [
    ["machine", `${navigator.hardwareConcurrency} cores, load ${facts.loadBefore} → ${facts.loadAfter}`],
    ["timeline (s from the start of churn)", facts.events.map((e) => `${e.t}: ${e.what}`).join("; ")],
    [
      "churn",
      `pods created ${r.churn.created} (${r.churn.filled} of them before the clock), deleted ${r.churn.deleted}; ConfigMap updates ${r.churn.configMapUpdates}; ` +
      `twin reports: simulated ${sims.sent.twin ?? 0} (errors ${
        sims.errors.twin ?? 0
      }), real edge over MQTT ${r.churn.twinPublishes}; ` +
      `failed calls ${r.churn.failures}`,
    ],
    ["cloudcore RSS slope, after its restart", fmtSlope(slope(second, cloudRss, secondFrom, end))],
    ["cloudcore RSS slope, before its restart", fmtSlope(slope(first, cloudRss, warm, r.cloudRestartS))],
    [
      "cloudcore JS heap (min per 10 s) slope, after restart",
      fmtSlope(slope(second, cloudHeap, secondFrom, end)),
    ],
    [
      "cloudcore JS heap (min per 10 s) slope, before",
      fmtSlope(slope(first, cloudHeap, warm, r.cloudRestartS)),
    ],
    [
      "cloudcore heap after full GC slope, after restart",
      fmtSlope(slope(second, (s) => s.cloud.heapAfterGc, secondFrom, end)),
    ],
    ["edgecore RSS slope", fmtSlope(slope(samples, edgeRss, warm, end))],
    ["edgecore JS heap (min per 10 s) slope", fmtSlope(slope(samples, edgeHeap, warm, end))],
    ["edgecore heap after full GC slope", fmtSlope(slope(samples, (s) => s.edge.heapAfterGc, warm, end))],
    [
      "RSS at the end, MiB: cloudcore (/proc) / edgecore (/proc)",
      `${mib(last?.cloud.rss)} (${mib(last?.cloud.procRss)}) / ${mib(last?.edge.rss)} (${
        mib(last?.edge.procRss)
      })`,
    ],
    ["event-loop lag ms, cloudcore: p99 median / p99 worst 10 s / max", lag(samples, (s) => s.cloud)],
    ["event-loop lag ms, edgecore: p99 median / p99 worst 10 s / max", lag(samples, (s) => s.edge)],
    [
      "CPU % of one core: cloudcore / edgecore / simulated edges / kube-apiserver",
      `${cpuPercent(samples, (s) => s.cloud.cpuSeconds)} / ${
        cpuPercent(samples, (s) => s.edge.cpuSeconds)
      } / ${cpuPercent(samples, (s) => s.simsCpuSeconds)} / ${
        cpuPercent(samples, (s) => s.apiserverCpuSeconds)
      }`,
    ],
    [
      "apiserver requests by cloudcore (audit)",
      `${requests} in ${minutes.toFixed(1)} min = ${(requests / minutes).toFixed(0)}/min = ${
        (requests / minutes / r.nodes).toFixed(1)
      } per edge per minute (${r.nodes} edges); of which watches and lists ${
        sum([...r.audit].filter(([k]) => /^(watch|list) /.test(k)).map(([, v]) => v))
      } (the test apiserver ends watches every 5-10 s)`,
    ],
    [
      "cloudcore watch restarts by reason (first / second process)",
      `${restarts || "-"} / ${restarts2 || "-"}`,
    ],
    [
      "cloudcore informer lists (second process)",
      String(second.filter(scraped).at(-1)?.informerLists ?? "-"),
    ],
    [
      "simulated edges: connects / disconnects; request errors",
      `${sims.connects} / ${sims.disconnects}; ${
        Object.entries(sims.errors).map(([k, v]) => `${k} ${v}`).join(", ") || "none"
      }`,
    ],
    ["pods not Running at the end", r.notRunning.length ? r.notRunning.slice(0, 5).join(", ") : "0"],
    ["consistency, first comparison", consistency(firstTry)],
    [
      `consistency, final (comparison ${r.tries.length})`,
      `${totalProblems === 0 ? "OK" : "FAILED"}: ${consistency(final)}`,
    ],
  ]));
  out.push(`\n### cloudcore's apiserver requests during the churn (audit log)\n`);
  out.push(table(
    ["request", "count", "per minute", "per edge per minute"],
    [...r.audit].sort((a, b) => b[1] - a[1]).map(([k, v]) => [
      k,
      v,
      (v / minutes).toFixed(1),
      (v / minutes / r.nodes).toFixed(2),
    ]),
  ));
  out.push(`\n### Node by node (final comparison)\n`);
  out.push(table(
    ["node", "expected", "held", "missing", "extra", "stale", "devices missing / extra", "twin mismatches"],
    final.map((x) => [
      x.node,
      x.expected,
      x.held,
      x.missing.length,
      x.extra.length,
      x.stale.length,
      `${x.devicesMissing.length} / ${x.devicesExtra.length}`,
      x.twinMismatches.length,
    ]),
  ));
  const details = final.flatMap((x) =>
    [
      ...x.missing.map((m) => `missing ${m}`),
      ...x.extra.map((m) => `extra ${m}`),
      ...x.stale.map((m) => `stale ${m}`),
      ...x.devicesMissing.map((m) => `device missing ${m}`),
      ...x.devicesExtra.map((m) => `device extra ${m}`),
      ...x.twinMismatches.map((m) => `twin ${m}`),
    ].map((line) => `- ${x.node}: ${line}`)
  );
  if (details.length) out.push(`\n${details.slice(0, 40).join("\n")}${details.length > 40 ? "\n- ..." : ""}`);
  if (sims.errorSamples.length) {
    out.push(`\nsimulated edges' error samples: ${JSON.stringify(sims.errorSamples)}`);
  }
  if (r.churn.failureSamples.length) {
    out.push(`churn failures (samples): ${JSON.stringify(r.churn.failureSamples)}`);
  }
  console.log(out.join("\n"));
  if (r.keep) {
    Deno.mkdirSync(r.keep, { recursive: true });
    Deno.writeTextFileSync(join(r.keep, "samples.csv"), samplesCsv(samples));
    Deno.writeTextFileSync(
      join(r.keep, "result.json"),
      JSON.stringify({ ...r, audit: Object.fromEntries(r.audit) }, null, 1),
    );
    Deno.writeTextFileSync(join(r.keep, "report.md"), out.join("\n"));
  }
  return totalProblems === 0;
}
