/**
 * bench/edge_footprint.ts's figures as Markdown: one table with both agents and the ratio kedge / KubeEdge
 * per row and figure, the slopes of the long phases, and where each agent's resident pages are.
 */
import { ANONYMOUS_KINDS, type MappingShare, type Memory } from "./edge_footprint_probe.ts";
import { table } from "./soak_report.ts";

export const KEDGE = "kedge";
export const KUBEEDGE = "KubeEdge";

export interface Reading {
  memory: Memory;
  cpuPercent: number;
  /** kedge: V8 heap in use at the end of the window and its lowest value in the window, bytes. */
  heap?: { used: number; min: number; spaces?: Record<string, number> };
  /** kedge: its own full GCs (lib/idle_gc.ts) over the window, % of one core (part of cpuPercent). */
  gcPercent?: number;
  /** The agent process's resident memory by kind of mapping. */
  mappings?: MappingShare[];
}

const ANON_SPLIT = [
  "[heap]: malloc's main arena (brk)",
  ANONYMOUS_KINDS.arena,
  ANONYMOUS_KINDS.pages,
  ANONYMOUS_KINDS.other,
];

/** "brk / arenas / V8 pages / other", MiB of anonymous memory in each kind of mapping. */
function anonSplit(r?: Reading): string {
  if (!r?.mappings) return "-";
  return ANON_SPLIT.map((kind) => mib(r.mappings!.find((m) => m.what === kind)?.anon ?? 0).toFixed(1)).join(
    " / ",
  );
}

/** V8's heap spaces as the bench reports them: new objects, old objects, bytecode and code metadata, large. */
const SPACES: Array<[RegExp, string]> = [
  [/^new_space$/, "new"],
  [/^old_space$/, "old"],
  [/^(code|trusted)_space$/, "code+trusted"],
  [/large_object_space$/, "large"],
];

function spaceSplit(spaces: Record<string, number>): string {
  return SPACES.map(([re]) =>
    (Object.entries(spaces).filter(([name]) => re.test(name)).reduce((a, [, v]) => a + v, 0) / 1048576)
      .toFixed(1)
  ).join(" / ");
}

/** One scenario: a reading per agent, and a note per agent (how long its pods took, what failed). */
export interface Row {
  name: string;
  readings: Map<string, Reading>;
  notes: Map<string, string>;
}

/** One figure per agent, outside the scenarios: start times, sizes on disk, the runtime floor. */
export interface Fact {
  name: string;
  values: Map<string, number | string>;
  unit?: "MiB" | "s" | "%";
}

const mib = (kib: number) => kib / 1024;

function fmt(value: number | string | undefined, digits = 1): string {
  if (value === undefined) return "-";
  if (typeof value === "string") return value;
  return Number.isFinite(value) ? value.toFixed(digits) : "-";
}

function ratio(kedge: number | string | undefined, kubeedge: number | string | undefined): string {
  if (typeof kedge !== "number" || typeof kubeedge !== "number" || !kubeedge) return "";
  return (kedge / kubeedge).toFixed(2);
}

/** Name, value, digits, and whether a ratio means something. */
const FIGURES: Array<[string, (r: Reading) => number | undefined, number, boolean]> = [
  ["RSS (MiB)", (r) => mib(r.memory.rss), 1, true],
  ["PSS (MiB)", (r) => mib(r.memory.pss), 1, true],
  ["anonymous, RssAnon (MiB)", (r) => mib(r.memory.anon), 1, true],
  ["file pages, RssFile (MiB)", (r) => mib(r.memory.file), 1, true],
  ["CPU (% of one core, 60 s)", (r) => r.cpuPercent, 2, true],
  ["JS heap, lowest in window (MiB)", (r) => r.heap && r.heap.min / 1048576, 1, true],
  ["of the CPU: forced full GCs (% of one core)", (r) => r.gcPercent, 2, true],
  ["processes measured / others running its executable", (r) => r.memory.processes, 0, false],
];

export function mainTable(rows: Row[], facts: Fact[]): string {
  const lines: Array<Array<string>> = [];
  for (const row of rows) {
    const k = row.readings.get(KEDGE);
    const u = row.readings.get(KUBEEDGE);
    for (const [figure, pick, digits, hasRatio] of FIGURES) {
      const kv = k && pick(k);
      const uv = u && pick(u);
      if (kv === undefined && uv === undefined) continue;
      if (!hasRatio) {
        const both = (r?: Reading) => r ? `${r.memory.processes} / ${r.memory.exeSharers}` : "-";
        lines.push([row.name, figure, both(u), both(k), ""]);
        continue;
      }
      lines.push([row.name, figure, fmt(uv, digits), fmt(kv, digits), ratio(kv, uv)]);
    }
    if (k?.mappings || u?.mappings) {
      lines.push([
        row.name,
        "anonymous: malloc brk / 64M-aligned / 256K chunks / other (MiB)",
        anonSplit(u),
        anonSplit(k),
        "",
      ]);
    }
    const spaces = k?.heap?.spaces;
    if (spaces && Object.keys(spaces).length) {
      lines.push([
        row.name,
        `V8 heap held: ${SPACES.map(([, label]) => label).join(" / ")} (MiB)`,
        "-",
        spaceSplit(spaces),
        "",
      ]);
    }
    const notes = [KUBEEDGE, KEDGE].map((a) => row.notes.get(a) ?? "");
    if (notes.some(Boolean)) lines.push([row.name, "note", notes[0]!, notes[1]!, ""]);
  }
  for (const fact of facts) {
    const k = fact.values.get(KEDGE);
    const u = fact.values.get(KUBEEDGE);
    const digits = fact.unit === "s" ? 2 : 1;
    lines.push([fact.name, fact.unit ?? "", fmt(u, digits), fmt(k, digits), ratio(k, u)]);
  }
  return table(["row", "figure", KUBEEDGE, KEDGE, "ratio kedge / KubeEdge"], lines);
}

export interface SlopeLine {
  phase: string;
  agent: string;
  /** KiB per cycle or MiB per hour. */
  rss: number;
  anon: number;
  heapMin?: number;
  unit: string;
  detail: string;
}

export function slopeTable(lines: SlopeLine[]): string {
  return table(
    ["phase", "agent", "RSS slope", "anonymous slope", "JS heap (lowest) slope", "unit", "samples"],
    lines.map((l) => [l.phase, l.agent, fmt(l.rss), fmt(l.anon), fmt(l.heapMin), l.unit, l.detail]),
  );
}

export function mappingTable(shares: Map<string, MappingShare[]>): string {
  const lines: string[][] = [];
  for (const [agent, list] of shares) {
    for (const s of list) lines.push([agent, s.what, fmt(mib(s.rss)), fmt(mib(s.anon))]);
  }
  return table(["agent", "mapping", "resident (MiB)", "of it anonymous (MiB)"], lines);
}
