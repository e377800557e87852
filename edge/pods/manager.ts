/**
 * The pod manager: sources -> dispatch -> one worker per pod UID -> CRI, with a relist of CRI state that
 * pokes the workers of pods whose containers changed (PLEG), a status manager, orphan removal once every
 * source has delivered its initial set, and periodic garbage collection. `stop()` leaves pods running: a
 * restarted manager adopts them from their CRI labels.
 */
import { join } from "node:path";
import type { CriClient } from "../cri/mod.ts";
import { sleep } from "../../lib/backoff.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { Backoff } from "./backoff.ts";
import { DEADLINE_MESSAGE, DEADLINE_REASON, deadlineExceeded, msToDeadline } from "./active_deadline.ts";
import { admissionRejection } from "./admission.ts";
import { eventPodOf, type EventRecorder, podEvents } from "./events.ts";
import type { PodContext } from "./field_ref.ts";
import { GarbageCollector, type GcOptions, type GcReport } from "./gc.ts";
import { ImagePuller } from "./images.ts";
import { killPod, removePod } from "./kill.ts";
import { GRACE_PERIOD } from "./labels.ts";
import { NO_OBJECTS, type ObjectLookup } from "./objects.ts";
import type { Pod } from "./pod_schema.ts";
import { unmountUnder } from "./memory_volume.ts";
import { computePodStatus, recordedStatus } from "./pod_status.ts";
import { type PodWork, PodWorkers } from "./pod_workers.ts";
import { ProbeManager } from "./probes.ts";
import { RuntimeCache, type RuntimePod } from "./runtime_state.ts";
import type { PodSource, PodUpdate } from "./source.ts";
import { type PodStatusSink, StatusManager } from "./status_manager.ts";
import type { PodRef, PodStatus } from "./status_types.ts";
import { gracePeriodOf, hostOf, syncPod } from "./sync_pod.ts";
import { podUsesObject } from "./volumes.ts";

export interface PodManagerOptions {
  readonly cri: CriClient;
  readonly nodeName: string;
  /** Pod folders (volumes) go under `<rootDirectory>/pods/<uid>`. */
  readonly rootDirectory: string;
  /** Container logs: `<podLogsDirectory>/<ns>_<name>_<uid>/<container>/<attempt>.log`. */
  readonly podLogsDirectory: string;
  /** Pulled at start and never garbage collected; containerd's CRI `sandbox_image` should name it. */
  readonly podSandboxImage?: string;
  readonly sources?: readonly PodSource[];
  readonly statusSink?: PodStatusSink;
  readonly objects?: ObjectLookup;
  /** The node's allocatable resources (cpu, memory, ...): a limit a container does not set, for the downward API. */
  readonly allocatable?: Readonly<Record<string, string>>;
  /** Where the pods' events go (kubectl describe pod); none: not recorded. */
  readonly events?: EventRecorder;
  readonly log?: Logger;
  /** The node's IP (status.hostIP, the pod IP of host-network pods). Default: first non-loopback IPv4. */
  readonly hostIP?: string;
  readonly relistPeriodMs?: number;
  readonly resyncPeriodMs?: number;
  readonly statusResyncPeriodMs?: number;
  readonly crashLoopBackoff?: { initialMs: number; maxMs: number };
  readonly imagePullBackoff?: { initialMs: number; maxMs: number };
  readonly gcPeriodMs?: number;
  readonly gc?: Partial<GcOptions>;
  /** Unsafe sysctls pods may set (admission.ts). */
  readonly allowedUnsafeSysctls?: readonly string[];
}

export interface PodManager {
  /** Applies one update from a source that pushes directly. */
  handle(update: PodUpdate): void;
  status(uid: string): PodStatus | undefined;
  pods(): Pod[];
  /** False while CRI does not answer the relist. */
  healthy(): boolean;
  collectGarbage(): Promise<GcReport>;
  /** Stops the loops; pods keep running. */
  stop(): Promise<void>;
}

const ended = (phase?: string) => phase === "Succeeded" || phase === "Failed";

export function startPodManager(options: PodManagerOptions): Promise<PodManager> {
  const log = options.log ?? createLogger({ component: "pods" });
  const cri = options.cri;
  const objects = options.objects ?? NO_OBJECTS;
  const hostIP = options.hostIP ?? defaultHostIP();
  const runtime = new RuntimeCache(cri);
  const pods = new Map<string, Pod>();
  const statuses = new StatusManager(options.statusSink, options.statusResyncPeriodMs ?? 60_000);
  const crash = options.crashLoopBackoff ?? { initialMs: 10_000, maxMs: 300_000 };
  const crashBackoff = new Backoff(crash);
  const images = new ImagePuller(cri, new Backoff(options.imagePullBackoff ?? crash), log);
  const podsDir = join(options.rootDirectory, "pods");
  const abort = new AbortController();
  // A pod being killed is not synced: a readiness change only rewrites its status (terminatingStatus).
  const probes = new ProbeManager(
    cri,
    log,
    (uid) => terminating.has(uid) ? terminatingStatus(uid) : workers.poke(uid),
  );
  const terminating = new Map<string, Promise<void>>();
  /** Pods that passed admission: they hold their host ports until they end or are removed. */
  const admitted = new Set<string>();
  const gc = new GarbageCollector(cri, log, {
    maxDeadPerContainer: options.gc?.maxDeadPerContainer ?? 1,
    imageHighPercent: options.gc?.imageHighPercent ?? 80,
    imageLowPercent: options.gc?.imageLowPercent ?? 40,
    pinnedImages: [
      ...(options.gc?.pinnedImages ?? []),
      ...(options.podSandboxImage ? [options.podSandboxImage] : []),
    ],
  });
  const deps = {
    cri,
    runtime,
    images,
    probes,
    objects,
    crashBackoff,
    log,
    events: options.events,
    podsDir,
    logsDir: options.podLogsDirectory,
  };

  const contextOf = (uid: string, pod: Pod): PodContext => ({
    pod,
    uid,
    namespace: pod.metadata.namespace ?? "default",
    nodeName: options.nodeName,
    hostIP,
    podIP: statuses.get(uid)?.podIP ?? "",
    allocatable: options.allocatable,
  });
  const refOf = (uid: string, pod: Pod): PodRef => ({
    uid,
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? "default",
  });

  /**
   * As the kubelet while a pod terminates: its readiness probes go on and each change is written at once, so a
   * pod whose containers stop (or turn unready on SIGTERM) is no longer Ready before it is gone.
   */
  const terminatingStatus = (uid: string) => {
    const before = terminating.get(uid);
    if (!before) return;
    terminating.set(
      uid,
      before.then(async () => {
        const pod = pods.get(uid);
        if (!pod || !statuses.get(uid)) return;
        statuses.set(
          refOf(uid, pod),
          computePodStatus({
            ctx: contextOf(uid, pod),
            runtime: (await runtime.list(uid)).get(uid),
            waiting: new Map(),
            ready: (id, spec) => probes.ready(uid, id, spec),
            started: (id, spec) => probes.started(uid, id, spec),
            previous: statuses.get(uid),
            recorded: recordedStatus(pod.status),
            now: new Date(),
          }),
        );
      }).catch((error) => log.warn("terminating pod status failed", { uid, error })),
    );
  };

  /**
   * The pods admitted to the node (their host ports held) besides `uid`: those that passed admission and
   * have not ended, and any the runtime runs (adopted after a restart, before their first sync).
   */
  const admittedPods = (uid: string): Pod[] =>
    [...pods].filter(([other]) =>
      other !== uid &&
      (admitted.has(other) ? !ended(statuses.get(other)?.phase) : lastSnapshot.has(other))
    ).map(([, pod]) => pod);

  /**
   * The status from the runtime alone, no probe counted: a pod's first, or one that is being stopped;
   * `terminal` for one whose containers were stopped for its deletion (Succeeded or Failed).
   */
  const unprobedStatus = async (ctx: PodContext, previous: PodStatus | undefined, terminal = false) =>
    computePodStatus({
      ctx,
      runtime: (await runtime.list(ctx.uid)).get(ctx.uid),
      waiting: new Map(),
      ready: () => false,
      started: () => false,
      previous,
      recorded: recordedStatus(ctx.pod.status),
      now: new Date(),
      terminal,
    });

  const runWork = async (uid: string, work: PodWork): Promise<{ requeueMs?: number }> => {
    const ctx = contextOf(uid, work.pod);
    if (work.kind === "kill") {
      const current = (await runtime.list(uid)).get(uid);
      probes.stopLivenessAndStartup(uid);
      // An orphan (in no source) is no pod the cloud knows: no events about it.
      const event = pods.has(uid) ? podEvents(options.events, eventPodOf(ctx)) : undefined;
      if (current) {
        terminating.set(uid, Promise.resolve());
        try {
          await killPod({ cri, log, event }, current, work.gracePeriodSeconds, hostOf(ctx), work.pod.spec);
        } finally {
          const last = terminating.get(uid);
          terminating.delete(uid);
          await last;
        }
      }
      probes.removePod(uid);
      // As TerminatePod, once: not for a pod already terminal here or in the apiserver (no way back from
      // Succeeded), nor for one removed before (a later update of the object the finalizers hold).
      const last = statuses.get(uid);
      if (
        work.reportTerminal && (current || last) && !ended(last?.phase) &&
        !ended(recordedStatus(work.pod.status)?.phase)
      ) {
        statuses.set(refOf(uid, work.pod), await unprobedStatus(ctx, last, true));
      }
      if (work.remove) {
        if (current) await removePod(cri, current);
        await unmountUnder(join(podsDir, uid)).catch((error) =>
          log.warn("pod volume not unmounted", { uid, error })
        );
        await Deno.remove(join(podsDir, uid), { recursive: true }).catch(() => {});
        crashBackoff.forget(`${uid}/`);
        options.events?.forget?.(uid);
        pods.delete(uid);
        admitted.delete(uid);
        statuses.remove(uid);
        log.info("pod removed", { uid, pod: work.pod.metadata.name });
      }
      return {};
    }
    // A pod that ended (here, or in the apiserver before a restart) with nothing of it left in the runtime
    // stays ended: a rejected pod is never started later, nor a finished one whose containers were collected.
    const recordedPhase = recordedStatus(work.pod.status)?.phase;
    if (
      (ended(statuses.get(uid)?.phase) || ended(recordedPhase)) && !admitted.has(uid) &&
      !(await runtime.list(uid)).get(uid)
    ) return {};
    // The kubelet's admission, for a pod nothing of which runs yet: refused, it is Failed and never started.
    const rejection = admitted.has(uid)
      ? undefined
      : admissionRejection(work.pod, Deno.build.os, options.allowedUnsafeSysctls, admittedPods(uid));
    if (rejection && !(await runtime.list(uid)).get(uid)) {
      if (statuses.get(uid)?.reason !== rejection.reason) {
        podEvents(options.events, eventPodOf(ctx))("Warning", rejection.reason, rejection.message);
        log.warn("pod rejected", { pod: work.pod.metadata.name, reason: rejection.reason });
      }
      statuses.set(refOf(uid, work.pod), {
        phase: "Failed",
        reason: rejection.reason,
        message: `Pod was rejected: ${rejection.message}`,
        conditions: [],
        containerStatuses: [],
      });
      return {};
    }
    admitted.add(uid);
    const previous = statuses.get(uid) ?? await unprobedStatus(ctx, undefined);
    const untilDeadline = msToDeadline(work.pod.spec.activeDeadlineSeconds, previous);
    if (untilDeadline !== undefined && untilDeadline <= 0) {
      const event = podEvents(options.events, eventPodOf(ctx));
      if (previous.reason !== DEADLINE_REASON) event("Normal", DEADLINE_REASON, DEADLINE_MESSAGE);
      probes.removePod(uid);
      const current = (await runtime.list(uid)).get(uid);
      if (current) await killPod({ cri, log, event }, current, gracePeriodOf(ctx), hostOf(ctx));
      statuses.set(refOf(uid, work.pod), deadlineExceeded(await unprobedStatus(ctx, previous)));
      return {};
    }
    const policy = work.pod.spec.restartPolicy ?? "Always";
    const terminal = policy !== "Always" && (previous.phase === "Succeeded" || previous.phase === "Failed");
    const result = await syncPod(deps, ctx, terminal);
    const status = computePodStatus({
      ctx,
      runtime: result.runtime,
      waiting: result.waiting,
      ready: (id, spec) => probes.ready(uid, id, spec),
      started: (id, spec) => probes.started(uid, id, spec),
      previous: statuses.get(uid),
      recorded: recordedStatus(work.pod.status),
      now: new Date(),
    });
    statuses.set(refOf(uid, work.pod), status);
    const nowTerminal = policy !== "Always" && (status.phase === "Succeeded" || status.phase === "Failed");
    // The pod is synced again when its deadline comes, not at the next resync.
    const requeueMs = nowTerminal && !terminal ? 0 : result.requeueMs;
    return {
      requeueMs: untilDeadline === undefined
        ? requeueMs
        : Math.min(requeueMs ?? Infinity, untilDeadline + 10),
    };
  };
  const workers: PodWorkers = new PodWorkers(runWork, log, options.resyncPeriodMs ?? 10_000);

  const handle = (update: PodUpdate) => {
    const uid = update.pod.metadata.uid;
    if (!uid) {
      log.warn("pod without uid ignored", { pod: update.pod.metadata.name });
      return;
    }
    if (update.op === "delete" || update.pod.metadata.deletionTimestamp) {
      pods.set(uid, update.pod);
      workers.dispatch(uid, {
        kind: "kill",
        pod: update.pod,
        gracePeriodSeconds: gracePeriodOf(contextOf(uid, update.pod)),
        remove: true,
        reportTerminal: update.op !== "delete",
      });
      return;
    }
    pods.set(uid, update.pod);
    workers.dispatch(uid, { kind: "sync", pod: update.pod });
  };

  // Relist: find what changed in CRI and poke those pods; kill orphans once the sources are in.
  let sourcesReady = (options.sources ?? []).length === 0;
  let healthy = true;
  const signatures = new Map<string, string>();
  let lastSnapshot = new Map<string, RuntimePod>();
  const relist = async () => {
    let snapshot: Map<string, RuntimePod>;
    try {
      snapshot = await runtime.list();
    } catch (err) {
      if (healthy) log.warn("relist failed", { error: err });
      healthy = false;
      return;
    }
    if (!healthy) log.info("relist recovered");
    healthy = true;
    lastSnapshot = snapshot;
    for (const [uid, pod] of snapshot) {
      const signature = [
        ...pod.sandboxes.map((s) => `${s.id}:${s.ready}`),
        ...pod.containers.map((c) => `${c.id}:${c.state}`),
      ].join(",");
      if (signatures.get(uid) !== signature) {
        signatures.set(uid, signature);
        workers.poke(uid);
      }
      if (sourcesReady && !pods.has(uid) && !workers.has(uid)) {
        log.info("orphan pod removed", { uid, pod: pod.name, namespace: pod.namespace });
        const grace = Number(pod.sandboxes[0]?.annotations[GRACE_PERIOD] ?? 30) || 30;
        const orphan: Pod = {
          metadata: { name: pod.name, namespace: pod.namespace, uid },
          spec: { containers: [{ name: "orphan", image: "" }] },
        };
        workers.dispatch(uid, { kind: "kill", pod: orphan, gracePeriodSeconds: grace, remove: true });
      }
    }
    for (const uid of signatures.keys()) if (!snapshot.has(uid)) signatures.delete(uid);
  };
  const loop = async (periodMs: number, fn: () => Promise<unknown>) => {
    while (!abort.signal.aborted) {
      await fn().catch((err) => log.warn("pod manager loop failed", { error: err }));
      // sleep() takes its abort listener off again: one added per period and left on the signal was kept
      // with its timer until the manager stopped (the relist's, once a second: idle growth).
      await sleep(periodMs, abort.signal);
    }
  };
  const collectGarbage = async () => {
    const snapshot = await runtime.list();
    return await gc.collect(snapshot, (uid) => pods.has(uid) && workers.has(uid));
  };

  if (options.podSandboxImage) {
    const image = options.podSandboxImage;
    cri.imageStatus(image).then((present) => present ? undefined : cri.pullImage(image))
      .catch((err) => log.warn("sandbox image pull failed", { image, error: err }));
  }
  const unwatch = objects.watch?.((kind, namespace, name) => {
    for (const [uid, pod] of pods) {
      if (
        (pod.metadata.namespace ?? "default") === namespace && podUsesObject(pod.spec.volumes, kind, name)
      ) workers.poke(uid);
    }
  });
  const loops = [
    loop(options.relistPeriodMs ?? 1000, relist),
    loop(options.gcPeriodMs ?? 60_000, async () => {
      if (lastSnapshot.size || pods.size) await collectGarbage();
    }),
  ];
  Promise.all((options.sources ?? []).map((s) => s.start(handle, abort.signal)))
    .then(() => sourcesReady = true)
    .catch((err) => log.error("pod source failed", { error: err }));

  return Promise.resolve({
    handle,
    status: (uid) => statuses.get(uid),
    pods: () => [...pods.values()],
    healthy: () => healthy,
    collectGarbage,
    async stop() {
      abort.abort();
      unwatch?.();
      probes.stop();
      statuses.stop();
      await workers.stop();
      await Promise.all(loops);
    },
  });
}

function defaultHostIP(): string {
  try {
    return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
      ?.address ?? "127.0.0.1";
  } catch {
    return "127.0.0.1";
  }
}
