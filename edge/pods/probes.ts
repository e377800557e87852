/**
 * Liveness, readiness and startup probes (exec, httpGet, tcpSocket, grpc), one timer loop per (container,
 * probe), with initialDelaySeconds, periodSeconds, timeoutSeconds and success/failure thresholds. Liveness and
 * readiness wait for a startup probe to succeed. A result change calls `onChange(uid)` so the pod's worker
 * syncs: it restarts a container whose liveness or startup probe failed, and recomputes Ready. Each failed
 * probe is an "Unhealthy" event, as the kubelet's prober records it; an httpGet probe that ends on a redirect
 * to another host passes with a "ProbeWarning" event (http_probe.ts).
 */
import { grpcProbe } from "./grpc_probe.ts";
import { httpProbe } from "./http_probe.ts";
import type { CriClient } from "../cri/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { PodEvents } from "./events.ts";
import type { ContainerType } from "./labels.ts";
import type { ContainerSpec, ProbeSpec } from "./pod_schema.ts";

export type ProbeKind = "liveness" | "readiness" | "startup";

export interface ProbeTarget {
  readonly uid: string;
  readonly containerId: string;
  readonly spec: ContainerSpec;
  /** A regular container, or a sidecar (an init container). */
  readonly type: ContainerType;
  /** Where httpGet and tcpSocket connect when the probe names no host. */
  readonly host: string;
  readonly event?: PodEvents;
}

interface Worker {
  readonly kind: ProbeKind;
  readonly target: ProbeTarget;
  readonly probe: ProbeSpec;
  result: boolean | undefined;
  successes: number;
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
  stopped: boolean;
}

export class ProbeManager {
  readonly #workers = new Map<string, Worker>();

  constructor(
    private readonly cri: CriClient,
    private readonly log: Logger,
    private readonly onChange: (uid: string) => void,
  ) {}

  /** Starts probes for `running` containers of pod `uid`; stops those of its containers not in the list. */
  sync(uid: string, running: readonly ProbeTarget[]): void {
    const keep = new Set<string>();
    for (const target of running) {
      for (const kind of ["startup", "liveness", "readiness"] as const) {
        const probe = target.spec[`${kind}Probe`];
        if (!probe) continue;
        const key = `${uid}/${target.containerId}/${kind}`;
        keep.add(key);
        if (!this.#workers.has(key)) {
          this.#start(key, {
            kind,
            target,
            probe,
            successes: 0,
            failures: 0,
            result: undefined,
            stopped: false,
          });
        }
      }
    }
    for (const [key, w] of this.#workers) {
      if (w.target.uid === uid && !keep.has(key)) this.#stop(key, w);
    }
  }

  /** Readiness of a running container: true without a readiness probe, false until it succeeds. */
  ready(uid: string, containerId: string, spec: ContainerSpec): boolean {
    if (!this.started(uid, containerId, spec)) return false;
    if (!spec.readinessProbe) return true;
    return this.#workers.get(`${uid}/${containerId}/readiness`)?.result === true;
  }

  /** Whether the startup probe (if any) has succeeded. */
  started(uid: string, containerId: string, spec: ContainerSpec): boolean {
    if (!spec.startupProbe) return true;
    return this.#workers.get(`${uid}/${containerId}/startup`)?.result === true;
  }

  /** The probe that says the container must be restarted, if any. */
  failed(uid: string, containerId: string): ProbeKind | undefined {
    for (const kind of ["startup", "liveness"] as const) {
      if (this.#workers.get(`${uid}/${containerId}/${kind}`)?.result === false) return kind;
    }
    return undefined;
  }

  /**
   * A terminating pod: its liveness and startup probes stop (their last results stay), readiness goes on until
   * removePod, as the kubelet's StopLivenessAndStartup.
   */
  stopLivenessAndStartup(uid: string): void {
    for (const w of this.#workers.values()) {
      if (w.target.uid === uid && w.kind !== "readiness") {
        w.stopped = true;
        clearTimeout(w.timer);
      }
    }
  }

  removePod(uid: string): void {
    for (const [key, w] of this.#workers) if (w.target.uid === uid) this.#stop(key, w);
  }

  stop(): void {
    for (const [key, w] of this.#workers) this.#stop(key, w);
  }

  #start(key: string, w: Worker): void {
    this.#workers.set(key, w);
    const period = Math.max(1, w.probe.periodSeconds ?? 10) * 1000;
    const tick = async () => {
      if (w.stopped) return;
      if (w.kind === "startup" || this.started(w.target.uid, w.target.containerId, w.target.spec)) {
        await this.#probeOnce(w);
      }
      if (!w.stopped) w.timer = setTimeout(tick, period);
    };
    w.timer = setTimeout(tick, Math.max(0, w.probe.initialDelaySeconds ?? 0) * 1000);
  }

  #stop(key: string, w: Worker): void {
    w.stopped = true;
    clearTimeout(w.timer);
    this.#workers.delete(key);
  }

  async #probeOnce(w: Worker): Promise<void> {
    if (w.kind === "startup" && w.result === true) return;
    const failure = await this.#run(w).catch((err) => err instanceof Error ? err.message : String(err));
    if (w.stopped) return;
    const ok = failure === undefined;
    if (!ok) {
      w.target.event?.("Warning", "Unhealthy", `${capitalized(w.kind)} probe failed: ${failure}`, {
        name: w.target.spec.name,
        type: w.target.type,
      });
    }
    if (ok) {
      w.failures = 0;
      w.successes++;
    } else {
      w.successes = 0;
      w.failures++;
    }
    const successThreshold = w.kind === "readiness" ? Math.max(1, w.probe.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, w.probe.failureThreshold ?? 3);
    let next = w.result;
    if (ok && w.successes >= successThreshold) next = true;
    if (!ok && w.failures >= failureThreshold) next = false;
    if (next !== w.result) {
      w.result = next;
      this.log.info("probe result changed", {
        uid: w.target.uid,
        container: w.target.spec.name,
        probe: w.kind,
        result: next ? "success" : "failure",
      });
      this.onChange(w.target.uid);
    }
  }

  /** Undefined when the probe succeeds, else what it got (the kubelet's probe output). */
  async #run(w: Worker): Promise<string | undefined> {
    const timeoutS = Math.max(1, w.probe.timeoutSeconds ?? 1);
    const { probe, target } = w;
    if (probe.exec) {
      const reply = await this.cri.execSync(target.containerId, probe.exec.command, timeoutS);
      if (reply.exitCode === 0) return undefined;
      const text = new TextDecoder();
      return `${text.decode(reply.stdout)}${text.decode(reply.stderr)}`.trim();
    }
    if (probe.httpGet) {
      const g = probe.httpGet;
      const port = resolvePort(target.spec, g.port);
      const host = g.host ?? target.host;
      const url = `${(g.scheme ?? "HTTP").toLowerCase()}://${
        host.includes(":") ? `[${host}]` : host
      }:${port}${g.path ?? "/"}`;
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value]));
      const { result, output } = await httpProbe(url, headers, timeoutS * 1000);
      if (result === "warning") {
        // A redirect to another host passes, and says so (the kubelet's ProbeWarning event).
        target.event?.("Warning", "ProbeWarning", `${capitalized(w.kind)} probe warning: ${output}`, {
          name: target.spec.name,
          type: target.type,
        });
      }
      return result === "failure" ? output : undefined;
    }
    if (probe.grpc) {
      return await grpcProbe(target.host, probe.grpc.port, probe.grpc.service ?? "", timeoutS * 1000);
    }
    if (probe.tcpSocket) {
      const port = resolvePort(target.spec, probe.tcpSocket.port);
      const conn = await withTimeout(
        Deno.connect({ hostname: probe.tcpSocket.host ?? target.host, port }),
        timeoutS * 1000,
      );
      conn.close();
      return undefined;
    }
    return undefined;
  }
}

const capitalized = (kind: ProbeKind) => `${kind[0]!.toUpperCase()}${kind.slice(1)}`;

function resolvePort(spec: ContainerSpec, port: number | string): number {
  if (typeof port === "number") return port;
  const named = spec.ports?.find((p) => p.name === port)?.containerPort;
  const n = named ?? Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new RangeError(`Cannot probe port ${port}: unknown`);
  return n;
}

function withTimeout<T extends Deno.Conn>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      promise.then((c) => c.close(), () => {});
      reject(new Error(`Cannot connect: timed out after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
