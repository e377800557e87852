// A real KubeEdge edgecore (tests/kubeedge/build.sh) joined to a cloud with a token, on a test containerd:
// its own config from its --minconfig, its ports free, beside other edgecores. Its embedded kubelet writes
// kernel sysctls a node needs (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, ...) as a real node
// does; stop() writes back the values it found, so a test leaves the machine as it was.
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/mod.ts";
import type { TestRuntime } from "../containerd/mod.ts";
import type { KubeEdgeBinaries } from "./cloud.ts";

const KUBELET_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
];

export interface KubeEdgeEdge extends Spawned {
  name: string;
  logFile: string;
}

export async function startKubeEdgeEdge(
  run: RunDir,
  bins: KubeEdgeBinaries,
  cloud: { websocket: number; https: number; token: string },
  rt: TestRuntime,
  name: string,
  options: {
    /** Changes to the config after the defaults here, e.g. the event bus and device twin turned on. */
    overrides?: (modules: Record<string, Record<string, unknown>>, dir: string) => void;
    /** klog's -v; 2 by default (0 is what KubeEdge's edgecore.service runs with). */
    verbosity?: number;
  } = {},
): Promise<KubeEdgeEdge> {
  const dir = join(run.path, `kubeedge-${name}`);
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command(bins.edgecore, {
    args: ["--minconfig"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const config = parse(new TextDecoder().decode(out.stdout));
  const m = config.modules;
  config.database.dataSource = join(dir, "edgecore.db");
  m.edgeHub = {
    ...m.edgeHub,
    enable: true,
    httpServer: `https://127.0.0.1:${cloud.https}`,
    token: cloud.token,
    tlsCaFile: join(dir, "ca/rootCA.crt"),
    tlsCertFile: join(dir, "certs/server.crt"),
    tlsPrivateKeyFile: join(dir, "certs/server.key"),
    websocket: { ...m.edgeHub.websocket, enable: true, server: `127.0.0.1:${cloud.websocket}` },
  };
  m.edged.hostnameOverride = name;
  m.edged.nodeIP = "127.0.0.1";
  m.edged.rootDirectory = join(dir, "kubelet");
  m.edged.podSandboxImage = rt.images.pause;
  Object.assign(m.edged.tailoredKubeletConfig, {
    readOnlyPort: freePort(),
    containerRuntimeEndpoint: rt.containerd.endpoint,
    imageServiceEndpoint: rt.containerd.endpoint,
    cgroupDriver: "cgroupfs",
    staticPodPath: join(dir, "manifests"),
    podLogsDir: join(dir, "pods"),
    volumePluginDir: join(dir, "volume-plugins"),
    // What a container sandbox cannot give a kubelet: QoS cgroups, node allocatable, iptables chains.
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    localStorageCapacityIsolation: false,
    makeIPTablesUtilChains: false,
  });
  m.eventBus = { ...m.eventBus, enable: false };
  m.metaManager = { ...m.metaManager, metaServer: { enable: false } };
  m.deviceTwin = { ...m.deviceTwin, enable: false, dmiSockPath: join(dir, "dmi") };
  m.edgeStream = { ...m.edgeStream, enable: false };
  options.overrides?.(m, dir);
  const configFile = join(dir, "edgecore.yaml");
  await Deno.writeTextFile(configFile, stringify(config));
  const sysctls = await readSysctls();
  // It refuses to start beside a process named kubelet unless told not to look.
  const process = await spawnLogged(run, `kubeedge-${name}`, bins.edgecore, [
    `--config=${configFile}`,
    `-v=${options.verbosity ?? 2}`,
  ], {
    CHECK_EDGECORE_ENVIRONMENT: "false",
  });
  return {
    ...process,
    name,
    logFile: join(run.path, `kubeedge-${name}.log`),
    async stop(graceMs?: number) {
      await process.stop(graceMs);
      await writeSysctls(sysctls);
    },
  };
}

async function readSysctls(): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const key of KUBELET_SYSCTLS) {
    const value = await Deno.readTextFile(`/proc/sys/${key}`).catch(() => undefined);
    if (value !== undefined) values.set(key, value.trim());
  }
  return values;
}

async function writeSysctls(values: Map<string, string>): Promise<void> {
  for (const [key, value] of values) {
    const now = (await Deno.readTextFile(`/proc/sys/${key}`).catch(() => value)).trim();
    if (now !== value) await Deno.writeTextFile(`/proc/sys/${key}`, value).catch(() => {});
  }
}
