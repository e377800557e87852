/**
 * Where pods come from. A source delivers add/update/delete of v1 Pods (validated with parsePod) to the
 * manager; `start` resolves once the source has delivered everything it had at start, so the manager knows
 * when a pod found in CRI but in no source is an orphan to remove.
 */
import type { Pod } from "./pod_schema.ts";

export type PodUpdate =
  | { readonly op: "add" | "update"; readonly pod: Pod }
  | { readonly op: "delete"; readonly pod: Pod };

export interface PodSource {
  readonly name: string;
  /** Delivers updates through `deliver` until `signal` aborts; resolves after the initial set. */
  start(deliver: (update: PodUpdate) => void, signal: AbortSignal): Promise<void>;
}
