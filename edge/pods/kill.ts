/**
 * Graceful termination, as the kubelet's killContainer: the preStop hook (exec, httpGet or tcpSocket) runs
 * within the grace period, then CRI StopContainer sends the image's stop signal (SIGTERM) and SIGKILL when
 * the rest of the grace period is over. Works from the container's annotations alone, so a pod that is
 * no longer in any source (an orphan after a restart) stops the same way. Each stop is a "Killing" event.
 */
import type { CriClient } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import * as v from "valibot";
import type { PodEvents } from "./events.ts";
import { httpGet } from "./http_get.ts";
import { PRE_STOP } from "./labels.ts";
import type { HandlerSpec } from "./pod_schema.ts";
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
  const left = Math.max(MINIMUM_GRACE_SECONDS, Math.ceil((deadline - Date.now()) / 1000));
  await deps.cri.stopContainer(c.id, left);
}

/** Kills every running container of `pod` in parallel, then stops its sandboxes. */
export async function killPod(
  deps: KillDeps,
  pod: RuntimePod,
  graceSeconds: number,
  host: string,
  specs?: Map<string, HandlerSpec | undefined>,
) {
  await Promise.all(
    pod.containers.map((c) => killContainer(deps, c, graceSeconds, host, specs?.get(c.name))),
  );
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
