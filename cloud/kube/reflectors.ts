/**
 * Reflectors made for one kubeconfig and one metrics registry: every watch of a cloudcore shares the same
 * HTTP client (one connection) and the same metrics, whichever controller made it.
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../../lib/log.ts";
import type { Registry } from "../../lib/metrics.ts";
import { Reflector, type ReflectorSpec, type ReflectorTiming } from "./reflector.ts";
import { ReflectorMetrics } from "./reflector_metrics.ts";
import { kubeWatchOpener, type WatchOpener } from "./watch_stream.ts";

const openers = new WeakMap<KubeConfig, WatchOpener>();
const metrics = new WeakMap<Registry, ReflectorMetrics>();

/** The watch metrics of `registry` (created on first use). */
export function reflectorMetrics(registry: Registry): ReflectorMetrics {
  let m = metrics.get(registry);
  if (!m) metrics.set(registry, m = new ReflectorMetrics(registry));
  return m;
}

/** Readiness of every reflector made with `registry`: "watch:<resource>" -> its watch is open. */
export function watchChecks(registry: Registry): Record<string, boolean> {
  return reflectorMetrics(registry).checks();
}

export function reflectorsFor(
  kc: KubeConfig,
  deps: { log: Logger; registry: Registry; timing?: Partial<ReflectorTiming> },
): <T extends KubernetesObject>(spec: ReflectorSpec<T>) => Reflector<T> {
  let open = openers.get(kc);
  if (!open) openers.set(kc, open = kubeWatchOpener(kc));
  const opener = open;
  const m = reflectorMetrics(deps.registry);
  return (spec) => new Reflector(spec, opener, { log: deps.log, metrics: m, timing: deps.timing });
}
