// A containerd 1.6 for one test file: its own root, state, socket and CNI config in the run folder, CRI with
// restrict_oom_score_adj (this sandbox cannot lower oom_score_adj), a loopback registry as an insecure
// mirror, and a bridge + host-local network whose bridge is each pod's default gateway, with portmap for
// hostPorts. stop() removes every sandbox through CRI first, so network namespaces, veths, rootfs mounts
// and portmap's iptables rules are released before the folder goes, and kills any shim (containerd starts
// them detached, so they outlive it) or container still running for it.
import { join } from "node:path";
import { createCriClient } from "../../edge/cri/mod.ts";
import { type RunDir, type Spawned, spawnLogged } from "../cluster/processes.ts";
import { containerTasksUnder, killAndWait, listProcesses, unmountUnder } from "../cluster/reap.ts";

export interface TestContainerd {
  /** `unix:///…/containerd.sock` */
  readonly endpoint: string;
  readonly socket: string;
  readonly root: string;
  /** The pods' bridge (the host side of their network, its address their gateway). */
  readonly bridge: string;
  /** Runs `ctr` against this containerd (namespace k8s.io); returns stdout, throws on failure. */
  ctr(args: string[]): Promise<string>;
  /** SIGSTOP / SIGCONT: calls hang, then continue. */
  /** SIGSTOP, resolved once every thread of containerd has stopped (the signal lands asynchronously). */
  freeze(): Promise<void>;
  thaw(): void;
  /** A reboot: every task killed, containerd killed, then started again on the same root. */
  reboot(): Promise<void>;
  stop(): Promise<void>;
}

export interface ContainerdOptions {
  readonly registryHost: string;
  /** More loopback registries (plain HTTP) the containerd pulls from, such as one that wants a login. */
  readonly moreRegistryHosts?: readonly string[];
  readonly sandboxImage: string;
  readonly snapshotter?: "overlayfs" | "native";
  /** Destinations (CIDRs) the pods route through their gateway, this host, besides their own subnet. */
  readonly podRoutes?: readonly string[];
}

const DISABLED = [
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

export async function startContainerd(run: RunDir, options: ContainerdOptions): Promise<TestContainerd> {
  const dir = join(run.path, "containerd");
  const socket = join(dir, "containerd.sock");
  const cniDir = join(dir, "cni");
  await Deno.mkdir(cniDir, { recursive: true });
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  const octet = () => Math.floor(Math.random() * 250) + 1;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${octet()}.0/24`;
  const bridge = `kb${tag}`;
  // Should this run die before stop(), the next one deletes the bridge.
  run.atReap(["ip", "link", "del", bridge]);
  await Deno.writeTextFile(
    join(cniDir, "10-kedge.conflist"),
    JSON.stringify({
      cniVersion: "1.0.0",
      name: `kedge-${tag}`,
      plugins: [
        {
          type: "bridge",
          bridge,
          // The bridge's address is each pod's default route, as on a real node: without it a pod answers
          // only its own subnet, so a hostPort reached from the machine's own address (which portmap does
          // not masquerade, unlike 127.0.0.1) never gets its SYN-ACK back (isGateway alone adds no route).
          isDefaultGateway: true,
          ipMasq: false,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet }]],
            ...options.podRoutes?.length ? { routes: options.podRoutes.map((dst) => ({ dst })) } : {},
            dataDir: join(dir, "ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    }),
  );
  const config = join(dir, "config.toml");
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  await Deno.writeTextFile(
    config,
    `version = 2
root = "${join(dir, "root")}"
state = "${join(dir, "state")}"
disabled_plugins = ${JSON.stringify(DISABLED)}
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
[${cri}]
  restrict_oom_score_adj = true
  sandbox_image = "${options.sandboxImage}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [${cri}.containerd]
    snapshotter = "${options.snapshotter ?? "overlayfs"}"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [${cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniDir}"
${
      [options.registryHost, ...(options.moreRegistryHosts ?? [])].map((host) =>
        `  [${cri}.registry.mirrors."${host}"]\n    endpoint = ["http://${host}"]\n`
      ).join("")
    }`,
  );
  const endpoint = `unix://${socket}`;
  let proc: Spawned = await launch(run, config, endpoint);
  const ctr = async (args: string[]) => {
    const out = await new Deno.Command("ctr", {
      args: ["--address", socket, "--namespace", "k8s.io", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    if (!out.success) throw new Error(`Cannot ctr ${args.join(" ")}: ${text.decode(out.stderr).trim()}`);
    return text.decode(out.stdout);
  };
  const killTasks = async () => {
    const lines = (await ctr(["tasks", "ls", "-q"]).catch(() => "")).split("\n").filter(Boolean);
    await Promise.all(
      lines.map((id) => ctr(["tasks", "kill", "-s", "SIGKILL", "--all", id]).catch(() => "")),
    );
    await new Promise((r) => setTimeout(r, 300));
  };
  return {
    endpoint,
    socket,
    root: dir,
    bridge,
    ctr,
    freeze: async () => {
      Deno.kill(proc.pid, "SIGSTOP");
      await untilStopped(proc.pid);
    },
    thaw: () => Deno.kill(proc.pid, "SIGCONT"),
    async reboot() {
      await killTasks();
      Deno.kill(proc.pid, "SIGKILL");
      await proc.status;
      proc = await launch(run, config, endpoint);
    },
    async stop() {
      try {
        Deno.kill(proc.pid, "SIGCONT");
      } catch { /* gone */ }
      await removeAllSandboxes(endpoint);
      await killTasks();
      await proc.stop(10_000);
      await killLeftovers(dir);
      await new Deno.Command("ip", { args: ["link", "del", bridge], stderr: "null" }).output().catch(
        () => {},
      );
      await unmountUnder(dir);
    },
  };
}

async function launch(run: RunDir, config: string, endpoint: string): Promise<Spawned> {
  const proc = await spawnLogged(run, "containerd", "containerd", ["--config", config]);
  let exited = false;
  proc.status.then(() => exited = true);
  const client = createCriClient({ endpoint, timeoutMs: 2000 });
  try {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !exited) {
      try {
        const conditions = await client.status();
        if (conditions.find((c) => c.type === "RuntimeReady")?.status) return proc;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
  await proc.stop(1000);
  const log = await Deno.readTextFile(join(run.path, "containerd.log")).catch(() => "");
  throw new Error(
    `Cannot start containerd: not ready; its log ends:\n${log.split("\n").slice(-15).join("\n")}`,
  );
}

/** Shims name the socket in `dir` (`-address`); containers run in the cgroups of the tasks there. */
async function killLeftovers(dir: string): Promise<void> {
  const tasks = containerTasksUnder(dir);
  const left = listProcesses().filter((p) => p.names(dir) || (tasks.size > 0 && p.inContainer(tasks)));
  await killAndWait(left.map((p) => p.pid));
}

async function removeAllSandboxes(endpoint: string): Promise<void> {
  const client = createCriClient({ endpoint, timeoutMs: 20_000 });
  try {
    for (const sandbox of await client.listPodSandbox()) {
      await client.stopPodSandbox(sandbox.id).catch(() => {});
      await client.removePodSandbox(sandbox.id).catch(() => {});
    }
  } catch {
    /* containerd is gone: tasks are killed below */
  } finally {
    client.close();
  }
}

/**
 * Waits until every thread of `pid` is in the stopped state: a request sent between kill() and that moment
 * could still be answered by a thread running on another core (seen: a "hung" containerd replying in 2 ms).
 */
async function untilStopped(pid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states: string[] = [];
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/stat`).catch(() => "");
      // The state follows the command name in parentheses, which may itself hold spaces.
      states.push(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
    }
    if (states.every((state) => state === "T" || state === "t" || state === "")) return;
    if (Date.now() > deadline) {
      throw new Error(`containerd ${pid} not stopped after SIGSTOP: ${states.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
