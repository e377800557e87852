/**
 * The kubelet's NodePorts admission (the scheduler's nodeports plugin, which the kubelet runs again): a pod
 * asking for a host port another admitted pod holds is refused. A port is held per protocol and host IP; an
 * empty host IP or 0.0.0.0 holds it on every IP (kube-scheduler's HostPortInfo.CheckConflict).
 */
import type { Pod } from "./pod_schema.ts";

const ALL_IPS = "0.0.0.0";

interface HostPort {
  readonly ip: string;
  readonly protocol: string;
  readonly port: number;
}

/** The host ports a pod holds while it runs: its containers' and its sidecars' (GetHostPorts). */
export function hostPortsOf(pod: Pod): HostPort[] {
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  return [...sidecars, ...pod.spec.containers].flatMap((c) => c.ports ?? [])
    .filter((p) => (p.hostPort ?? 0) > 0)
    .map((p) => ({ ip: p.hostIP || ALL_IPS, protocol: p.protocol ?? "TCP", port: p.hostPort! }));
}

/** Whether `want` overlaps a port of `held`: same protocol and port, and either IP is 0.0.0.0 or both equal. */
function conflicts(want: HostPort, held: HostPort): boolean {
  return want.port === held.port && want.protocol === held.protocol &&
    (want.ip === ALL_IPS || held.ip === ALL_IPS || want.ip === held.ip);
}

/** True when `pod` asks for a host port one of `admitted` (the pods the node runs, not `pod`) holds. */
export function hostPortTaken(pod: Pod, admitted: Iterable<Pod>): boolean {
  const wanted = hostPortsOf(pod);
  if (wanted.length === 0) return false;
  for (const other of admitted) {
    const held = hostPortsOf(other);
    if (wanted.some((w) => held.some((h) => conflicts(w, h)))) return true;
  }
  return false;
}
