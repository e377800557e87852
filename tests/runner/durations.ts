// How long each test file took last time, kept outside the repo, so the longest files start first and the run
// is not held up by a long file that happened to sort last (unknown files count as longest).
import { dirname, join } from "node:path";

const FILE = join(
  Deno.env.get("KEDGE_CACHE") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache"), "kedge"),
  "test-durations.json",
);

export function readDurations(): Map<string, number> {
  try {
    return new Map(Object.entries(JSON.parse(Deno.readTextFileSync(FILE)) as Record<string, number>));
  } catch {
    return new Map();
  }
}

export function writeDurations(durations: Map<string, number>): void {
  try {
    Deno.mkdirSync(dirname(FILE), { recursive: true });
    Deno.writeTextFileSync(FILE, JSON.stringify(Object.fromEntries(durations)));
  } catch { /* an unwritable cache only costs the ordering */ }
}

/** Longest (or never timed) first; the order is otherwise the given one. */
export function longestFirst<T extends { name: string }>(units: T[], durations: Map<string, number>): T[] {
  const ms = (u: T) => durations.get(u.name) ?? Infinity;
  return [...units].sort((a, b) => ms(b) - ms(a));
}
