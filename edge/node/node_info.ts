// What the box says about itself in its Node object: addresses, capacity, system info. Read from the
// machine, never configured by hand.
import { cpus, totalmem } from "node:os";

export interface NodeFacts {
  addresses: Array<{ type: "InternalIP" | "Hostname"; address: string }>;
  capacity: Record<string, string>;
  nodeInfo: Record<string, string>;
}

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return fallback;
  }
}

function osImage(): string {
  const release = readOr("/etc/os-release", "");
  return release.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ?? "Linux";
}

/** The first non-loopback IPv4 address, as the kubelet picks its InternalIP; loopback when there is none. */
export function primaryAddress(): string {
  for (const iface of Deno.networkInterfaces()) {
    if (iface.family === "IPv4" && !iface.address.startsWith("127.")) return iface.address;
  }
  return "127.0.0.1";
}

export function readNodeFacts(nodeName: string, runtimeVersion: string, maxPods = 110): NodeFacts {
  const arch = Deno.build.arch === "x86_64"
    ? "amd64"
    : Deno.build.arch === "aarch64"
    ? "arm64"
    : Deno.build.arch;
  return {
    addresses: [{ type: "InternalIP", address: primaryAddress() }, { type: "Hostname", address: nodeName }],
    capacity: {
      cpu: String(cpus().length),
      memory: `${Math.floor(totalmem() / 1024)}Ki`,
      pods: String(maxPods),
    },
    nodeInfo: {
      machineID: readOr("/etc/machine-id", ""),
      systemUUID: readOr("/sys/class/dmi/id/product_uuid", ""),
      bootID: readOr("/proc/sys/kernel/random/boot_id", ""),
      kernelVersion: Deno.osRelease(),
      osImage: osImage(),
      containerRuntimeVersion: runtimeVersion,
      kubeletVersion: "v1.34.4-kedge",
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: arch,
    },
  };
}
