/**
 * Graceful termination, as the kubelet's killContainer: the preStop hook (exec, httpGet or tcpSocket) runs
 * within the grace period, then CRI StopContainer sends the image's stop signal (SIGTERM) and SIGKILL when
 * the rest of the grace period is over. Works from the container's annotations alone, so a pod that is
 * no longer in any source (an orphan after a restart) stops the same way. Each stop is a "Killing" event.
 * With sidecars, a pod stops in the kubelet's order (terminationOrdering): regular containers first, then the
 * sidecars in reverse spec order, each within what is left of its grace period.
 */
import type { CriClient } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import * as v from "valibot";
import type { PodEvents } from "./events.ts";
import { httpGet } from "./http_get.ts";
import { PRE_STOP } from "./labels.ts";
import { isSidecar } from "./init_plan.ts";
import type { HandlerSpec, PodSpec } from "./pod_schema.ts";
import type { RuntimeContainer, RuntimePod } from "./runtime_state.ts";

/** The kubelet's floor: even a 0-second grace period gives the process 2 seconds to see SIGTERM. */
export const MINIMUM_GRACE_SECONDS = 2;

const PreStopSchema = v.object({
  exec: v.optional(v.object({ command: v.array(v.string()) })),
  httpGet: v.optional(
    v.object({
      path: v.optional(v.string()),
      port: v.union([v.number(), v.string()]),
      host: v.optional(v.string()),
      scheme: v.optional(v.picklist(["HTTP", "HTTPS"])),
      httpHeaders: v.optional(v.array(v.object({ name: v.string(), value: v.string() }))),
    }),
  ),
});

export interface KillDeps {
  readonly cri: CriClient;
  readonly log: Logger;
  /** Events about the pod whose containers are killed. */
  readonly event?: PodEvents;
}

export async function killContainer(
  deps: KillDeps,
  c: RuntimeContainer,
  graceSeconds: number,
  host: string,
  preStop?: HandlerSpec,
  /** Why, for the event. */
  message = `Stopping container ${c.name}`,
  /** Settles when the containers this one must outlive have stopped (termination ordering). */
  turn?: Promise<unknown>,
): Promise<void> {
  if (c.state !== "CONTAINER_RUNNING" && c.state !== "CONTAINER_CREATED") return;
  deps.event?.("Normal", "Killing", message, { name: c.name, type: c.type });
  const grace = Math.max(MINIMUM_GRACE_SECONDS, Math.ceil(graceSeconds));
  const deadline = Date.now() + grace * 1000;
  const hook = preStop ?? hookFromAnnotation(c);
  if (hook && c.state === "CONTAINER_RUNNING") {
    try {
      await runHook(deps.cri, c.id, hook, host, grace);
    } catch (err) {
      deps.log.warn("preStop hook failed", { container: c.name, id: c.id, error: err });
    }
  }
  if (turn) {
    // As the kubelet: the preStop hook has run; the stop signal waits for its turn, never past the grace.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise((r) => timer = setTimeout(r, Math.max(0, deadline - Date.now())));
    await Promise.race([turn, expired]).finally(() => clearTimeout(timer));
  }
  const left = Math.max(MINIMUM_GRACE_SECONDS, Math.ceil((deadline - Date.now()) / 1000));
  await deps.cri.stopContainer(c.id, left);
}

/**
 * Kills `containers` of a pod in parallel, in the kubelet's termination order when `spec` has sidecars: each
 * sidecar waits for every regular container and for the sidecars after it in the spec.
 */
export async function killContainers(
  deps: KillDeps,
  containers: readonly RuntimeContainer[],
  graceSeconds: number,
  host: string,
  spec?: PodSpec,
): Promise<void> {
  const live = containers.filter((c) => c.state === "CONTAINER_RUNNING" || c.state === "CONTAINER_CREATED");
  const done = new Map<string, Promise<unknown>>();
  const finished = (type: string, name: string) => done.get(`${type}/${name}`) ?? Promise.resolve();
  const kill = (c: RuntimeContainer, turn?: Promise<unknown>) => {
    const preStop = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].find((s) =>
      s.name === c.name
    )?.lifecycle?.preStop;
    // A failed stop still lets the next container go: the kubelet's ordering closes its channel only on
    // success, then the wait ends with the grace period; the grace period ends sooner here.
    const killed = killContainer(deps, c, graceSeconds, host, preStop, undefined, turn);
    const key = `${c.type}/${c.name}`;
    done.set(key, Promise.all([done.get(key), killed.catch(() => {})]));
    return killed;
  };
  const sidecars = (spec?.initContainers ?? []).filter(isSidecar);
  if (sidecars.length === 0) {
    await Promise.all(live.map((c) => kill(c)));
    return;
  }
  const isSidecarContainer = (c: RuntimeContainer) =>
    c.type === "init" && sidecars.some((s) => s.name === c.name);
  const kills = live.filter((c) => !isSidecarContainer(c)).map((c) => kill(c));
  const regulars = Promise.all(spec?.containers.map((s) => finished("regular", s.name)) ?? []);
  // From the last sidecar back to the first: each one's turn comes after the regular containers and the next.
  for (let i = sidecars.length - 1; i >= 0; i--) {
    const name = sidecars[i]!.name;
    const after = sidecars[i + 1];
    const turn = Promise.all([regulars, after ? finished("init", after.name) : undefined]);
    for (const c of live.filter((c) => isSidecarContainer(c) && c.name === name)) kills.push(kill(c, turn));
  }
  await Promise.all(kills);
}

/** Kills every running container of `pod` (killContainers), then stops its sandboxes. */
export async function killPod(
  deps: KillDeps,
  pod: RuntimePod,
  graceSeconds: number,
  host: string,
  spec?: PodSpec,
) {
  await killContainers(deps, pod.containers, graceSeconds, host, spec);
  for (const sandbox of pod.sandboxes) if (sandbox.ready) await deps.cri.stopPodSandbox(sandbox.id);
}

/** Removes every container, then every sandbox of `pod`. */
export async function removePod(cri: CriClient, pod: RuntimePod): Promise<void> {
  for (const c of pod.containers) await cri.removeContainer(c.id);
  for (const s of pod.sandboxes) {
    await cri.stopPodSandbox(s.id);
    await cri.removePodSandbox(s.id);
  }
}

function hookFromAnnotation(c: RuntimeContainer): HandlerSpec | undefined {
  const text = c.annotations[PRE_STOP];
  if (!text) return undefined;
  try {
    const parsed = v.safeParse(PreStopSchema, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a lifecycle handler (preStop, postStart) as the kubelet does; throws when it fails: an exec that exits
 * non-zero, an httpGet that cannot connect (its status is not checked, as the kubelet does not).
 */
export async function runHook(
  cri: CriClient,
  id: string,
  hook: HandlerSpec,
  host: string,
  timeoutSeconds: number,
): Promise<void> {
  if (hook.exec) {
    const out = await cri.execSync(id, hook.exec.command, timeoutSeconds);
    if (out.exitCode !== 0) {
      const stderr = new TextDecoder().decode(out.stderr ?? new Uint8Array()).trim().slice(0, 500);
      throw new Error(`command ${JSON.stringify(hook.exec.command)} exited with ${out.exitCode}: ${stderr}`);
    }
  } else if (hook.httpGet && typeof hook.httpGet.port === "number") {
    const g = hook.httpGet;
    await httpGet({
      scheme: g.scheme,
      host: g.host ?? host,
      port: g.port as number,
      path: g.path,
      headers: Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value])),
      timeoutMs: timeoutSeconds * 1000,
    });
  }
}
