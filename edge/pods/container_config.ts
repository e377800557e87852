/**
 * A pod's container spec as a CRI ContainerConfig: command and args with $(VAR) expansion, env, working
 * dir, mounts, resource limits as Linux resources, the basic security context, and the labels and
 * annotations that let a restarted manager recognise the container.
 */
import { ETC_HOSTS, mountsOwnEtcHosts } from "./etc_hosts.ts";
import type { ContainerConfig, LinuxContainerResources, Mount } from "../cri/mod.ts";
import { expand, resolveEnv } from "./env.ts";
import type { PodContext } from "./field_ref.ts";
import {
  CONTAINER_HASH,
  CONTAINER_NAME,
  CONTAINER_TYPE,
  type ContainerType,
  GRACE_PERIOD,
  hashContainer,
  MANAGED_BY,
  MANAGER,
  POD_NAME,
  POD_NAMESPACE,
  POD_UID,
  PRE_STOP,
  RESTART_COUNT,
  TERMINATION_LOG,
  TERMINATION_MESSAGE_POLICY,
} from "./labels.ts";
import type { ObjectLookup } from "./objects.ts";
import type { ContainerSpec, PodSpec } from "./pod_schema.ts";
import { namespaceOptionsOf } from "./pod_namespaces.ts";
import { parseQuantity } from "./quantity.ts";
import { ConfigError } from "./env.ts";
import { serviceEnvVars } from "./service_env.ts";
import { resolveSubPath, subPathOf } from "./sub_path.ts";
import type { VolumePaths } from "./volumes.ts";

const CPU_PERIOD = 100_000;
/** The kubelet's defaults for unprivileged containers. */
const MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export interface ContainerConfigInput {
  readonly ctx: PodContext;
  readonly spec: ContainerSpec;
  readonly type: ContainerType;
  readonly attempt: number;
  readonly restartCount: number;
  readonly volumes: VolumePaths;
  readonly objects: ObjectLookup;
  readonly gracePeriodSeconds: number;
  /** The node's file mounted at the container's terminationMessagePath (the kubelet's termination log). */
  readonly terminationLog?: string;
  /** The pod's managed /etc/hosts (etc_hosts.ts), mounted unless the container mounts its own there. */
  readonly etcHosts?: string;
}

export async function buildContainerConfig(input: ContainerConfigInput): Promise<ContainerConfig> {
  const { ctx, spec } = input;
  const links = ctx.pod.spec.enableServiceLinks !== false;
  const services = await input.objects.services?.(ctx.namespace, links) ?? [];
  const envs = await resolveEnv(ctx, spec, input.objects, serviceEnvVars(services, ctx.namespace, links));
  const vars = new Map(envs.map((e) => [e.key, e.value]));
  return {
    metadata: { name: spec.name, attempt: input.attempt },
    image: { image: spec.image, userSpecifiedImage: spec.image },
    command: spec.command?.map((c) => expand(c, vars)),
    args: spec.args?.map((a) => expand(a, vars)),
    workingDir: spec.workingDir ?? "",
    envs,
    mounts: [
      ...await mounts(spec, input.volumes, vars),
      ...terminationMount(spec, input.terminationLog),
      ...(input.etcHosts && !mountsOwnEtcHosts(spec)
        ? [{ containerPath: ETC_HOSTS, hostPath: input.etcHosts, readonly: false }]
        : []),
    ],
    labels: {
      [POD_UID]: ctx.uid,
      [POD_NAME]: ctx.pod.metadata.name,
      [POD_NAMESPACE]: ctx.namespace,
      [CONTAINER_NAME]: spec.name,
      [MANAGED_BY]: MANAGER,
    },
    annotations: {
      [CONTAINER_HASH]: hashContainer(spec),
      [RESTART_COUNT]: String(input.restartCount),
      [CONTAINER_TYPE]: input.type,
      [GRACE_PERIOD]: String(input.gracePeriodSeconds),
      ...(spec.lifecycle?.preStop ? { [PRE_STOP]: JSON.stringify(spec.lifecycle.preStop) } : {}),
      ...(input.terminationLog
        ? {
          [TERMINATION_LOG]: input.terminationLog,
          [TERMINATION_MESSAGE_POLICY]: spec.terminationMessagePolicy ?? "File",
        }
        : {}),
    },
    logPath: `${spec.name}/${input.attempt}.log`,
    stdin: spec.stdin ?? false,
    tty: spec.tty ?? false,
    linux: {
      resources: resources(spec),
      securityContext: securityContext(ctx, spec),
    },
  };
}

function terminationMount(spec: ContainerSpec, hostPath: string | undefined): Mount[] {
  if (!hostPath) return [];
  return [{
    containerPath: spec.terminationMessagePath || "/dev/termination-log",
    hostPath,
    readonly: false,
  }];
}

function mounts(spec: ContainerSpec, volumes: VolumePaths, vars: Map<string, string>): Promise<Mount[]> {
  return Promise.all((spec.volumeMounts ?? []).map(async (m) => {
    const hostPath = volumes.get(m.name);
    if (hostPath === undefined) throw new ConfigError(`Cannot mount ${m.name}: no volume of that name`);
    const sub = subPathOf(m, vars);
    return {
      containerPath: m.mountPath,
      hostPath: sub ? await resolveSubPath(hostPath, sub, m.name) : hostPath,
      readonly: m.readOnly ?? false,
    };
  }));
}

function resources(spec: ContainerSpec): LinuxContainerResources {
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  const out: LinuxContainerResources = {};
  const cpuLimit = limits.cpu;
  const cpuRequest = requests.cpu ?? cpuLimit;
  if (cpuRequest !== undefined) out.cpuShares = Math.max(2, Math.round(parseQuantity(cpuRequest) * 1024));
  if (cpuLimit !== undefined) {
    out.cpuPeriod = CPU_PERIOD;
    out.cpuQuota = Math.max(1000, Math.round(parseQuantity(cpuLimit) * CPU_PERIOD));
  }
  if (limits.memory !== undefined) out.memoryLimitInBytes = Math.round(parseQuantity(limits.memory));
  return out;
}

/**
 * The groups a pod's processes get besides their own, as the kubelet's determineEffectiveSecurityContext:
 * the fsGroup that owns the volumes first, then supplementalGroups; undefined when there are none.
 */
export function supplementalGroupsOf(spec: PodSpec): number[] | undefined {
  const sc = spec.securityContext;
  const groups = [...(sc?.fsGroup === undefined ? [] : [sc.fsGroup]), ...(sc?.supplementalGroups ?? [])];
  return groups.length > 0 ? groups : undefined;
}

function securityContext(ctx: PodContext, spec: ContainerSpec) {
  const sc = spec.securityContext ?? {};
  const pod = ctx.pod.spec.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? pod.runAsUser;
  const runAsGroup = sc.runAsGroup ?? pod.runAsGroup;
  const privileged = sc.privileged ?? false;
  return {
    privileged,
    runAsUser: runAsUser === undefined ? undefined : { value: runAsUser },
    runAsGroup: runAsGroup === undefined ? undefined : { value: runAsGroup },
    readonlyRootfs: sc.readOnlyRootFilesystem ?? false,
    supplementalGroups: supplementalGroupsOf(ctx.pod.spec),
    noNewPrivs: sc.allowPrivilegeEscalation === false,
    capabilities: sc.capabilities
      ? { addCapabilities: sc.capabilities.add ?? [], dropCapabilities: sc.capabilities.drop ?? [] }
      : undefined,
    namespaceOptions: namespaceOptionsOf(ctx.pod.spec),
    maskedPaths: privileged ? [] : MASKED_PATHS,
    readonlyPaths: privileged ? [] : READONLY_PATHS,
  };
}
