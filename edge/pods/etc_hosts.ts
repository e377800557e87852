/**
 * The pod's /etc/hosts, as the kubelet manages it (pkg/kubelet/kubelet_pods.go, ensureHostsFile): on the pod
 * network a file naming localhost, the IPv6 names, the pod's own IP with its hostname, and spec.hostAliases;
 * with hostNetwork the node's own /etc/hosts plus the aliases. One file per pod in its directory, mounted
 * into every container that does not mount something at /etc/hosts itself.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/atomic_write.ts";
import type { PodContext } from "./field_ref.ts";
import type { ContainerSpec, Pod } from "./pod_schema.ts";

export const ETC_HOSTS = "/etc/hosts";
/** The kubelet's cluster domain when none is configured; names the pod's subdomain entry. */
const CLUSTER_DOMAIN = "cluster.local";

function aliasEntries(pod: Pod): string {
  const aliases = pod.spec.hostAliases ?? [];
  if (aliases.length === 0) return "";
  return "\n# Entries added by HostAliases.\n" +
    aliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`).join("");
}

/** The managed file of a pod on the pod network. */
export function managedHostsContent(pod: Pod, podIPs: readonly string[]): string {
  const hostname = (pod.spec.hostname ?? pod.metadata.name).slice(0, 63).replace(/[-.]+$/, "");
  const domain = pod.spec.subdomain
    ? `${pod.spec.subdomain}.${pod.metadata.namespace ?? "default"}.svc.${CLUSTER_DOMAIN}`
    : "";
  let text = "# Kubernetes-managed hosts file.\n" +
    "127.0.0.1\tlocalhost\n" +
    "::1\tlocalhost ip6-localhost ip6-loopback\n" +
    "fe00::0\tip6-localnet\n" +
    "fe00::0\tip6-mcastprefix\n" +
    "fe00::1\tip6-allnodes\n" +
    "fe00::2\tip6-allrouters\n";
  for (const ip of podIPs) {
    text += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  }
  return text + aliasEntries(pod);
}

/** The node's file with the aliases, for a host-network pod. */
export function hostNetworkHostsContent(pod: Pod, nodeHosts: string): string {
  return "# Kubernetes-managed hosts file (host network).\n" + nodeHosts + aliasEntries(pod);
}

/**
 * Writes the pod's hosts file into `podDir` and returns its path, or undefined when there is nothing to mount
 * yet (a pod-network pod whose sandbox has no IP), as the kubelet's shouldMountHostsFile.
 */
export async function writeEtcHosts(
  podDir: string,
  ctx: PodContext,
  readNodeHosts: () => Promise<string> = () => Deno.readTextFile(ETC_HOSTS),
): Promise<string | undefined> {
  const hostNetwork = ctx.pod.spec.hostNetwork ?? false;
  if (!hostNetwork && !ctx.podIP) return undefined;
  const text = hostNetwork
    ? hostNetworkHostsContent(ctx.pod, await readNodeHosts())
    : managedHostsContent(ctx.pod, [ctx.podIP]);
  const path = join(podDir, "etc-hosts");
  // Written only when it changes: running containers have the file bind-mounted, and a replaced file would
  // leave them with the old one anyway (a new pod IP comes with a new sandbox, so new containers).
  if (await Deno.readTextFile(path).catch(() => undefined) !== text) {
    await writeFileAtomic(path, text, { mode: 0o644 });
  }
  return path;
}

/** A container that mounts something at /etc/hosts keeps it: the kubelet then manages nothing there. */
export function mountsOwnEtcHosts(spec: ContainerSpec): boolean {
  return (spec.volumeMounts ?? []).some((m) => m.mountPath === ETC_HOSTS);
}
