/**
 * The kubelet's sysctl admission (pkg/kubelet/sysctl): a pod may set the safe, namespaced sysctls, and the
 * node's allowed unsafe ones (patterns, "net.core.*"); anything else is refused as SysctlForbidden before
 * the pod starts, as is a net.* sysctl with hostNetwork or a kernel IPC one with hostIPC (they would change
 * the node's own). The safe list is v1.34's for a kernel of 5.15 or later.
 */
const SAFE_SYSCTLS = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
];

type Namespace = "ipc" | "net" | undefined;

/** Which namespace a sysctl (or a prefix) lives in, as component-helpers' sysctl.namespaceOf. */
function namespaceOf(name: string): Namespace {
  if (name.startsWith("net.")) return "net";
  if (/^kernel\.(sem|shm|msg)/.test(name) || name.startsWith("fs.mqueue.")) return "ipc";
  return undefined;
}

/** "net/ipv4/conf/eth0.100/forwarding" and "net.ipv4.conf.eth0/100.forwarding" name the same sysctl. */
export function normalizeSysctl(name: string): string {
  const first = name.search(/[./]/);
  if (first < 0 || name[first] === ".") return name;
  return name.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

export interface SysctlPod {
  readonly hostNetwork?: boolean;
  readonly hostIPC?: boolean;
  readonly securityContext?: { readonly sysctls?: ReadonlyArray<{ readonly name: string }> };
}

/** Why the pod's sysctls are refused ("forbidden sysctl: ..."), or undefined. */
export function forbiddenSysctl(spec: SysctlPod, allowedUnsafe: readonly string[] = []): string | undefined {
  for (const { name } of spec.securityContext?.sysctls ?? []) {
    const sysctl = normalizeSysctl(name);
    const pattern = [...SAFE_SYSCTLS, ...allowedUnsafe].map(normalizeSysctl).find((p) =>
      p.endsWith("*") ? sysctl.startsWith(p.slice(0, -1)) : p === sysctl
    );
    if (pattern === undefined) return `forbidden sysctl: "${sysctl}" not allowlisted`;
    const ns = namespaceOf(pattern.replace(/\*$/, ""));
    if ((ns === "net" && spec.hostNetwork) || (ns === "ipc" && spec.hostIPC)) {
      return `forbidden sysctl: "${sysctl}" not allowed with host ${ns} enabled`;
    }
  }
  return undefined;
}
