// A real KubeEdge cloudcore (tests/kubeedge/build.sh) as a plain process on loopback ports, against a test
// control plane: its CRDs applied from its own source tree, its CA and token made by itself in Secrets.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { type ControlPlane, freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/mod.ts";
import { kubectlFor } from "../harness/kubectl.ts";

export interface KubeEdgeBinaries {
  dir: string;
  cloudcore: string;
  edgecore: string;
  keadm: string;
  /** The source tree the binaries were built from (CRDs, samples). */
  src: string;
}

let located: Promise<KubeEdgeBinaries | { missing: string }> | undefined;

/** The cached KubeEdge build, building it when the snapshot is there; `missing` says why there is none. */
export function kubeEdgeBinaries(): Promise<KubeEdgeBinaries | { missing: string }> {
  located ??= (async () => {
    const script = fileURLToPath(new URL("./build.sh", import.meta.url));
    const out = await new Deno.Command("bash", { args: [script], stdout: "piped", stderr: "piped" }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
    if (!out.success) {
      return { missing: text(out.stderr).split("\n").at(-1) ?? `build.sh exited ${out.code}` };
    }
    const dir = text(out.stdout).split("\n").at(-1) ?? "";
    return {
      dir,
      cloudcore: join(dir, "cloudcore"),
      edgecore: join(dir, "edgecore"),
      keadm: join(dir, "keadm"),
      src: join(dir, "src"),
    };
  })();
  return located;
}

/** CRDs a v1.23.1 cloudcore lists at start (ObjectSync must exist or nothing is ever sent to an edge). */
const CRDS = [
  "reliablesyncs/objectsync_v1alpha1.yaml",
  "reliablesyncs/cluster_objectsync_v1alpha1.yaml",
  "devices/devices_v1beta1_device.yaml",
  "devices/devices_v1beta1_devicemodel.yaml",
  // Where its device controller writes the twins an edge reports (a Device's status is not).
  "devices/devices_v1beta1_devicestatus.yaml",
  "router/router_v1_rule.yaml",
  "router/router_v1_ruleEndpoint.yaml",
  "operations/operations_v1alpha2_configupdatejob.yaml",
  "operations/operations_v1alpha2_imageprepulljob.yaml",
  "operations/operations_v1alpha2_nodeupgradejob.yaml",
];

/**
 * cloudStream on: its tunnel server (edges dial it) and its stream server (kube-apiserver calls it as the
 * node's kubelet), with a serving certificate the apiserver trusts.
 */
export interface KubeEdgeStreamOptions {
  tunnelPort: number;
  streamPort: number;
  certFile: string;
  keyFile: string;
  /** The CA of the apiserver's kubelet-client certificate (cloudcore requests, never verifies, one). */
  caFile: string;
}

export interface KubeEdgeCloud extends Spawned {
  ports: { websocket: number; https: number };
  /** The join token cloudcore wrote to kubeedge/tokensecret (what `keadm gettoken` prints). */
  token: string;
  logFile: string;
}

export async function startKubeEdgeCloud(
  run: RunDir,
  cp: ControlPlane,
  bins: KubeEdgeBinaries,
  options: {
    deviceController?: boolean;
    /** KubeEdge's dynamicController (off by default, as keadm leaves it): answers MetaServer Applications. */
    dynamicController?: boolean;
    router?: { port: number; restTimeout?: number };
    stream?: KubeEdgeStreamOptions;
  } = {},
): Promise<KubeEdgeCloud> {
  const kubectl = kubectlFor(cp.kubeconfigPath);
  for (const crd of CRDS) await kubectl(["apply", "-f", join(bins.src, "build/crds", crd)]);
  if (options.stream) await seedTunnelPort(kubectl, options.stream.streamPort);
  const dir = join(run.path, "kubeedge-cloud");
  await Deno.mkdir(dir, { recursive: true });
  const ports = { websocket: freePort(), https: freePort() };
  const config = {
    apiVersion: "cloudcore.config.kubeedge.io/v1alpha1",
    kind: "CloudCore",
    // qps and burst as cloudcore would adjust them for nodeLimit, so it does not rewrite them.
    kubeAPIConfig: { kubeConfig: cp.kubeconfigPath, qps: 500, burst: 1000 },
    commonConfig: { monitorServer: { bindAddress: `127.0.0.1:${freePort()}` } },
    modules: {
      cloudHub: {
        nodeLimit: 100,
        advertiseAddress: ["127.0.0.1"],
        dnsNames: ["localhost"],
        // Absent files: cloudcore makes its CA and certificate and keeps them in Secrets.
        tlsCAFile: join(dir, "ca.crt"),
        tlsCAKeyFile: join(dir, "ca.key"),
        tlsCertFile: join(dir, "server.crt"),
        tlsPrivateKeyFile: join(dir, "server.key"),
        unixsocket: { enable: false, address: `unix://${join(dir, "kubeedge.sock")}` },
        websocket: { enable: true, address: "127.0.0.1", port: ports.websocket },
        https: { enable: true, address: "127.0.0.1", port: ports.https },
        quic: { enable: false },
        authorization: { enable: false },
      },
      edgeController: { enable: true },
      syncController: { enable: true },
      deviceController: { enable: options.deviceController ?? false },
      dynamicController: { enable: options.dynamicController ?? false },
      taskManager: { enable: false },
      router: options.router
        ? {
          enable: true,
          address: "127.0.0.1",
          port: options.router.port,
          restTimeout: options.router.restTimeout ?? 10,
        }
        : { enable: false },
      cloudStream: options.stream
        ? {
          enable: true,
          tunnelPort: options.stream.tunnelPort,
          streamPort: options.stream.streamPort,
          tlsStreamCertFile: options.stream.certFile,
          tlsStreamPrivateKeyFile: options.stream.keyFile,
          tlsStreamCAFile: options.stream.caFile,
          // Absent: the tunnel serves CloudHub's CA and certificate.
          tlsTunnelCAFile: join(dir, "tunnel-ca.crt"),
          tlsTunnelCertFile: join(dir, "tunnel.crt"),
          tlsTunnelPrivateKeyFile: join(dir, "tunnel.key"),
        }
        : { enable: false },
      iptablesManager: { enable: false },
    },
  };
  const configFile = join(dir, "cloudcore.yaml");
  await Deno.writeTextFile(configFile, stringify(config));
  const process = await spawnLogged(run, "kubeedge-cloudcore", bins.cloudcore, [
    `--config=${configFile}`,
    "-v=2",
  ]);
  const logFile = join(run.path, "kubeedge-cloudcore.log");
  try {
    let token = "";
    const deadline = Date.now() + 60_000;
    let exited = false;
    process.status.then(() => exited = true);
    while (!token || !await listening(ports.websocket)) {
      if (exited) throw new Error(`KubeEdge cloudcore exited:\n${await tail(logFile)}`);
      if (Date.now() > deadline) {
        throw new Error(`KubeEdge cloudcore not up in 60 s:\n${await tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
      if (!token) {
        const secret = await kubectl(["-n", "kubeedge", "get", "secret", "tokensecret", "-o", "json"]).catch(
          () => "",
        );
        if (secret) token = atob(JSON.parse(secret).data.tokendata);
      }
    }
    return { ...process, ports, token, logFile };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/**
 * KubeEdge's cloudcore publishes, as every node's kubelet port, a port it negotiates at start and records in
 * ConfigMap kubeedge/tunnelport (10351 for the first cloudcore); its iptables manager then DNATs that port to
 * the stream server. Without iptables here, the record is written first so that the negotiated port is the
 * stream server's own: the apiserver dials <node InternalIP>:<streamPort>, and the node's InternalIP (the
 * machine's address, which the edge reports) is where the stream server listens. The key is cloudcore's
 * address (its default-route interface); every non-loopback IPv4 address of the machine is written.
 */
async function seedTunnelPort(kubectl: ReturnType<typeof kubectlFor>, streamPort: number): Promise<void> {
  const addresses = Deno.networkInterfaces().filter((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.")
  );
  const record = {
    ipTunnelPort: Object.fromEntries(addresses.map((i) => [i.address, streamPort])),
    port: { [String(streamPort)]: true },
  };
  await kubectl(["create", "namespace", "kubeedge"]).catch(() => "");
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "tunnelport",
        namespace: "kubeedge",
        annotations: { "tunnelportrecord.kubeedge.io": JSON.stringify(record) },
      },
    }),
  );
}

async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function tail(file: string): Promise<string> {
  return (await Deno.readTextFile(file).catch(() => "")).split("\n").slice(-20).join("\n");
}
