/**
 * One sync of one pod, as the kubelet's SyncPod/computePodActions: make CRI match the spec. A sandbox that
 * is missing or not ready is replaced (its containers killed); init containers run in order (init_plan.ts),
 * sidecars among them kept running beside the regular containers and stopped after them once those exited
 * for good; each container is started, kept, or restarted by its restart policy with crash-loop backoff, and
 * restarted when its spec hash changed or its liveness/startup probe failed. Containers whose hash matches are
 * adopted as they are, so a restarted manager recreates nothing. What happens is recorded as the kubelet's
 * events (Created, Started, Killing, BackOff, FailedCreatePodSandBox, FailedMount, ...).
 */
import { join } from "node:path";
import type { CriClient, PodSandboxConfig } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { Backoff } from "./backoff.ts";
import { buildContainerConfig } from "./container_config.ts";
import { writeEtcHosts } from "./etc_hosts.ts";
import { ConfigError } from "./env.ts";
import { type ContainerEvents, eventPodOf, type EventRecorder, podEvents } from "./events.ts";
import type { PodContext } from "./field_ref.ts";
import type { ImagePuller } from "./images.ts";
import { isSidecar, planInitContainers } from "./init_plan.ts";
import { killContainer, killContainers, runHook } from "./kill.ts";
import { type ContainerType, hashContainer } from "./labels.ts";
import type { ObjectLookup } from "./objects.ts";
import { podPullCredentials } from "./pull_secrets.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import type { Waiting } from "./pod_status.ts";
import type { ProbeManager, ProbeTarget } from "./probes.ts";
import {
  latestContainer,
  type RuntimeCache,
  type RuntimeContainer,
  type RuntimePod,
  type RuntimeSandbox,
} from "./runtime_state.ts";
import { buildSandboxConfig } from "./sandbox_config.ts";
import { prepareVolumes, VolumeError, type VolumePaths } from "./volumes.ts";

export interface SyncDeps {
  readonly cri: CriClient;
  readonly runtime: RuntimeCache;
  readonly images: ImagePuller;
  readonly probes: ProbeManager;
  readonly objects: ObjectLookup;
  readonly crashBackoff: Backoff;
  readonly log: Logger;
  readonly events?: EventRecorder;
  readonly podsDir: string;
  readonly logsDir: string;
}

export interface SyncResult {
  /** `<type>/<name>` -> why that container is not running. */
  readonly waiting: Map<string, Waiting>;
  /** Sync again after this long (a backoff ends), unless something happens first. */
  readonly requeueMs?: number;
  /** CRI state after the sync. */
  readonly runtime: RuntimePod | undefined;
}

export function gracePeriodOf(ctx: PodContext): number {
  return ctx.pod.metadata.deletionGracePeriodSeconds ?? ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
}

export async function syncPod(deps: SyncDeps, ctx: PodContext, terminal: boolean): Promise<SyncResult> {
  const waiting = new Map<string, Waiting>();
  let requeue: number | undefined;
  const later = (ms: number) => requeue = Math.min(requeue ?? ms, Math.max(ms, 100));
  const grace = gracePeriodOf(ctx);
  const host = hostOf(ctx);
  const event = podEvents(deps.events, eventPodOf(ctx));
  const kill = { cri: deps.cri, log: deps.log, event };
  let runtime = (await deps.runtime.list(ctx.uid)).get(ctx.uid);

  if (terminal) {
    // A finished pod keeps its containers for their status, and gives back its sandbox. What still runs
    // (sidecars of a pod whose init failed) stops gracefully first: the sandbox's stop kills at once.
    await killContainers(kill, runtime?.containers ?? [], grace, host, ctx.pod.spec);
    for (const s of runtime?.sandboxes ?? []) if (s.ready) await deps.cri.stopPodSandbox(s.id);
    deps.probes.removePod(ctx.uid);
    return { waiting, runtime: (await deps.runtime.list(ctx.uid)).get(ctx.uid) };
  }

  const podDir = join(deps.podsDir, ctx.uid);
  let volumes: VolumePaths;
  try {
    volumes = await prepareVolumes(ctx, podDir, deps.objects);
  } catch (err) {
    if (!(err instanceof VolumeError)) throw err;
    event("Warning", "FailedMount", err.message);
    for (const c of allContainers(ctx)) {
      waiting.set(`${c.type}/${c.spec.name}`, { reason: "ContainerCreating", message: err.message });
    }
    return { waiting, requeueMs: 2000, runtime };
  }

  let sandbox: RuntimeSandbox | undefined = runtime?.sandboxes[0];
  let sandboxConfig = buildSandboxConfig(ctx, sandbox?.attempt ?? 0, deps.logsDir, grace);
  if (!sandbox || !sandbox.ready) {
    if (sandbox) event("Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
    await killContainers(kill, runtime?.containers ?? [], grace, host, ctx.pod.spec);
    for (const s of runtime?.sandboxes ?? []) if (s.ready) await deps.cri.stopPodSandbox(s.id);
    const attempt = sandbox ? sandbox.attempt + 1 : 0;
    sandboxConfig = buildSandboxConfig(ctx, attempt, deps.logsDir, grace);
    await Deno.mkdir(sandboxConfig.logDirectory ?? deps.logsDir, { recursive: true });
    const id = await deps.cri.runPodSandbox(sandboxConfig).catch((err) => {
      event("Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${(err as Error).message}`);
      throw err;
    });
    deps.log.info("sandbox started", { uid: ctx.uid, pod: ctx.pod.metadata.name, sandbox: id, attempt });
    runtime = (await deps.runtime.list(ctx.uid)).get(ctx.uid);
    sandbox = runtime?.sandboxes.find((s) => s.id === id);
    if (!sandbox) throw new Error(`Cannot find sandbox ${id}: gone right after it started`);
  }
  const podCtx: PodContext = { ...ctx, podIP: ctx.pod.spec.hostNetwork ? ctx.hostIP : sandbox.ip };
  const sb = sandbox;
  const etcHosts = await writeEtcHosts(podDir, podCtx);
  const pullCredentials = podPullCredentials(ctx, deps.objects, event);

  const start = async (spec: ContainerSpec, type: ContainerType, previous: RuntimeContainer | undefined) => {
    const key = `${type}/${spec.name}`;
    const container = { name: spec.name, type };
    const containerEvent: ContainerEvents = (kind, reason, message) =>
      event(kind, reason, message, container);
    const image = await deps.images.ensure(ctx.uid, spec, sandboxConfig, containerEvent, pullCredentials);
    if (!image.ok) {
      containerEvent("Warning", "Failed", `Error: ${image.reason}`);
      waiting.set(key, { reason: image.reason, message: image.message });
      later(image.retryMs);
      return;
    }
    // containerd reserves "<name>_<pod>_<namespace>_<uid>_<attempt>" whatever the sandbox: never reuse one.
    const attempt = Math.max(
      -1,
      ...(runtime?.containers ?? []).filter((c) => c.name === spec.name && c.type === type)
        .map((c) => c.attempt),
    ) + 1;
    const restartCount = previous ? previous.restartCount + 1 : 0;
    const terminationLog = await createTerminationLog(podDir, spec.name, type, attempt);
    let config;
    try {
      config = await buildContainerConfig({
        ctx: podCtx,
        spec,
        type,
        attempt,
        restartCount,
        volumes,
        objects: deps.objects,
        gracePeriodSeconds: grace,
        terminationLog,
        etcHosts,
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      containerEvent("Warning", "Failed", `Error: ${err.message}`);
      waiting.set(key, { reason: "CreateContainerConfigError", message: err.message });
      later(2000);
      return;
    }
    let id: string;
    try {
      id = await deps.cri.createContainer(sb.id, config, sandboxConfig);
    } catch (err) {
      containerEvent("Warning", "Failed", `Error: ${(err as Error).message}`);
      waiting.set(key, { reason: "CreateContainerError", message: (err as Error).message });
      later(2000);
      return;
    }
    containerEvent("Normal", "Created", `Created container: ${spec.name}`);
    try {
      await deps.cri.startContainer(id);
      containerEvent("Normal", "Started", `Started container ${spec.name}`);
      deps.log.info("container started", { uid: ctx.uid, container: spec.name, id, restartCount });
      const postStart = spec.lifecycle?.postStart;
      if (postStart) {
        try {
          await runHook(deps.cri, id, postStart, hostOf(podCtx), grace);
        } catch (err) {
          // As the kubelet: the container is killed and restarts by its policy, with crash-loop backoff.
          const why = (err as Error).message;
          containerEvent("Warning", "FailedPostStartHook", why);
          deps.log.warn("postStart hook failed", { uid: ctx.uid, container: spec.name, id, error: why });
          const started = (await deps.runtime.list(ctx.uid)).get(ctx.uid)?.containers.find((c) =>
            c.id === id
          );
          if (started) await killContainer(kill, started, grace, host, undefined, "FailedPostStartHook");
          deps.runtime.forget(id);
          waiting.set(key, { reason: "PostStartHookError", message: why });
          deps.crashBackoff.next(`${ctx.uid}/${key}`);
          later(deps.crashBackoff.remaining(`${ctx.uid}/${key}`));
        }
      }
    } catch (err) {
      // The container's ID in a runtime error would make every failure a new event.
      containerEvent("Warning", "Failed", `Error: ${(err as Error).message.replaceAll(id, spec.name)}`);
      waiting.set(key, { reason: "RunContainerError", message: (err as Error).message });
      deps.crashBackoff.next(`${ctx.uid}/${key}`);
      later(deps.crashBackoff.remaining(`${ctx.uid}/${key}`));
    }
  };

  /** Starts (or restarts after backoff) a container that is not running; false while it must wait. */
  const ensureRunning = async (
    spec: ContainerSpec,
    type: ContainerType,
    policy: "Always" | "OnFailure" | "Never",
  ) => {
    const key = `${type}/${spec.name}`;
    const current = latestContainer(runtime, spec.name, type, sb.id);
    const previous = latestContainer(runtime, spec.name, type);
    if (current?.state === "CONTAINER_RUNNING") {
      const failedProbe = deps.probes.failed(ctx.uid, current.id);
      const outdated = current.hash !== hashContainer(spec);
      if (!failedProbe && !outdated) return true;
      deps.log.info("container restarting", {
        uid: ctx.uid,
        container: spec.name,
        id: current.id,
        why: outdated ? "spec changed" : `${failedProbe} probe failed`,
      });
      const probeGrace = failedProbe ? spec[`${failedProbe}Probe`]?.terminationGracePeriodSeconds : undefined;
      // The kubelet's words; a liveness failure under restartPolicy Never stops the container for good.
      const cause = outdated ? "definition changed" : `failed ${failedProbe} probe`;
      const then = outdated || policy !== "Never" ? ", will be restarted" : "";
      const message = `Container ${spec.name} ${cause}${then}`;
      await killContainer(kill, current, probeGrace ?? grace, host, spec.lifecycle?.preStop, message);
      deps.runtime.forget(current.id);
      runtime = (await deps.runtime.list(ctx.uid)).get(ctx.uid);
      if (outdated) deps.crashBackoff.reset(`${ctx.uid}/${key}`);
      return ensureRunning(spec, type, policy);
    }
    if (current?.state === "CONTAINER_CREATED" || current?.state === "CONTAINER_UNKNOWN") {
      await deps.cri.removeContainer(current.id).catch(() => {});
    } else if (current?.state === "CONTAINER_EXITED") {
      if (!restarts(current, spec, policy)) return current.exitCode === 0;
      const backoffKey = `${ctx.uid}/${key}`;
      const wait = deps.crashBackoff.remaining(backoffKey, Math.floor(current.finishedAt / 1e6));
      if (wait > 0) {
        event(
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${spec.name} in pod ${ctx.pod.metadata.name}_${ctx.namespace}(${ctx.uid})`,
          { name: spec.name, type },
        );
        waiting.set(key, {
          reason: "CrashLoopBackOff",
          message: `back-off ${
            Math.round(deps.crashBackoff.delay(backoffKey) / 1000)
          }s restarting failed container=${spec.name} pod=${ctx.pod.metadata.name}_${ctx.namespace}(${ctx.uid})`,
        });
        later(wait);
        return false;
      }
      deps.crashBackoff.next(backoffKey);
    }
    await start(spec, type, previous);
    return false;
  };

  const policy = ctx.pod.spec.restartPolicy ?? "Always";
  const inits = ctx.pod.spec.initContainers ?? [];
  const plan = planInitContainers(
    ctx.pod.spec,
    runtime,
    sb.id,
    (c, spec) => deps.probes.started(ctx.uid, c.id, spec),
  );
  // As the kubelet's KillPod: a failed init, or regular containers that all exited for good. Sidecars do not
  // keep such a pod alive: what runs stops (regular containers first, then sidecars in reverse order).
  const done = plan.initialized && policy !== "Always" && ctx.pod.spec.containers.every((spec) => {
    const c = latestContainer(runtime, spec.name, "regular", sb.id);
    return c?.state === "CONTAINER_EXITED" && !restarts(c, spec, policy);
  });
  if (plan.failed || done) {
    const running = (runtime?.containers ?? []).filter((c) => c.sandboxId === sb.id);
    await killContainers(kill, running, grace, host, ctx.pod.spec);
  } else {
    // Sidecars with a container here are kept running (restarted after they exit, a failed probe, a changed
    // spec), whatever the pod's restartPolicy; the plan adds the next init container to start.
    const starts = new Set(plan.start);
    inits.forEach((spec, i) => {
      if (isSidecar(spec) && latestContainer(runtime, spec.name, "init", sb.id)) starts.add(i);
    });
    for (const i of [...starts].sort((a, b) => a - b)) {
      const spec = inits[i]!;
      // A failed regular init container restarts (OnFailure and Always); under Never the plan failed the pod.
      await ensureRunning(spec, "init", isSidecar(spec) ? "Always" : "OnFailure");
    }
    if (plan.initialized) {
      for (const spec of ctx.pod.spec.containers) await ensureRunning(spec, "regular", policy);
      // kubectl debug's containers: started once the pod runs, never restarted (the kubelet's policy).
      for (const spec of ctx.pod.spec.ephemeralContainers ?? []) {
        await ensureRunning(spec, "ephemeral", "Never");
      }
    }
  }

  // Running containers the spec no longer has.
  const names = new Set(allContainers(ctx).map((c) => `${c.type}/${c.spec.name}`));
  for (const c of runtime?.containers ?? []) {
    if (c.state === "CONTAINER_RUNNING" && !names.has(`${c.type}/${c.name}`)) {
      await killContainer(kill, c, grace, host);
    }
  }

  runtime = (await deps.runtime.list(ctx.uid)).get(ctx.uid);
  const specs = new Map(allContainers(ctx).map((c) => [`${c.type}/${c.spec.name}`, c.spec]));
  const targets: ProbeTarget[] = [];
  for (const c of runtime?.containers ?? []) {
    const spec = specs.get(`${c.type}/${c.name}`);
    const probed = c.type === "regular" || (spec !== undefined && isSidecar(spec));
    if (spec && probed && c.state === "CONTAINER_RUNNING" && c.sandboxId === sb.id) {
      targets.push({ uid: ctx.uid, containerId: c.id, spec, type: c.type, host: hostOf(podCtx), event });
    }
  }
  deps.probes.sync(ctx.uid, targets);
  return { waiting, requeueMs: requeue, runtime };
}

/** An empty file, writable by any user in the container, for its termination message (as the kubelet's). */
async function createTerminationLog(podDir: string, name: string, type: ContainerType, attempt: number) {
  const dir = join(podDir, "containers", `${type}-${name}`);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `${attempt}-termination-log`);
  await Deno.writeFile(path, new Uint8Array());
  await Deno.chmod(path, 0o666);
  return path;
}

/** Whether an exited container starts again: by its (sidecar) or the pod's restart policy, or a new spec. */
function restarts(c: RuntimeContainer, spec: ContainerSpec, policy: "Always" | "OnFailure" | "Never") {
  return policy === "Always" || (policy === "OnFailure" && c.exitCode !== 0) ||
    (c.hash !== hashContainer(spec) && policy !== "Never");
}

function allContainers(ctx: PodContext): { spec: ContainerSpec; type: ContainerType }[] {
  return [
    ...(ctx.pod.spec.initContainers ?? []).map((spec) => ({ spec, type: "init" as const })),
    ...ctx.pod.spec.containers.map((spec) => ({ spec, type: "regular" as const })),
    ...(ctx.pod.spec.ephemeralContainers ?? []).map((spec) => ({ spec, type: "ephemeral" as const })),
  ];
}

export function hostOf(ctx: PodContext): string {
  return ctx.pod.spec.hostNetwork ? "127.0.0.1" : ctx.podIP || "127.0.0.1";
}

export type { PodSandboxConfig };
