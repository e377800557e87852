/** What the simulated edges of one process count, per measuring window (bench/edge_sim.ts adds to it). */

export const KINDS = [
  "report",
  "register",
  "leasequery",
  "leasecreate",
  "lease",
  "nodepatch",
  "podpatch",
  "poddelete",
  "twin",
] as const;
export type Kind = typeof KINDS[number];

/** Counters of a measuring window, owned by the process; edges add to the current one. */
export interface SimCounters {
  sent: Record<Kind, number>;
  ok: Record<Kind, number>;
  errors: Record<Kind, number>;
  latencies: Record<Kind, number[]>;
  errorSamples: string[];
  deliveries: Record<string, number>;
  acks: number;
  connects: number;
  disconnects: number;
  bytesIn: number;
}

export function newCounters(): SimCounters {
  const zero = () => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  return {
    sent: zero(),
    ok: zero(),
    errors: zero(),
    latencies: Object.fromEntries(KINDS.map((k) => [k, []])) as unknown as Record<Kind, number[]>,
    errorSamples: [],
    deliveries: {},
    acks: 0,
    connects: 0,
    disconnects: 0,
    bytesIn: 0,
  };
}
