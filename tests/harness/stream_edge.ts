// A control plane, a cloudcore with its stream server on and one edgecore on a real containerd, joined and
// Ready, dialling cloudcore's tunnel: what the kubectl logs/exec/port-forward tests run against. The node's
// kubelet endpoint is a port of cloudcore's stream server on the machine's own address (the apiserver's
// node proxy refuses loopback ones), so there is no iptables rule anywhere (docs/streaming.md).
import { type ControlPlane, createRunDir, type RunDir, startControlPlane } from "../cluster/mod.ts";
import { startTestRuntime } from "../containerd/mod.ts";
import { waitFor } from "../containerd/pod_helpers.ts";
import { cloudStreamSection } from "./cloud_stream.ts";
import type { Core } from "./cores.ts";
import { type Cloud, joinEdge, startCloud, startEdge } from "./kedge.ts";
import { type KubectlResult, runKubectl } from "./kubectl.ts";

/** The machine's own IPv4 address, or undefined when it has none (the tests that need it are skipped). */
export const HOST_IP = Deno.networkInterfaces().find((i) =>
  i.family === "IPv4" && !i.address.startsWith("127.")
)?.address;

export interface StreamEdge {
  readonly cp: ControlPlane;
  readonly run: RunDir;
  readonly rt: Awaited<ReturnType<typeof startTestRuntime>>;
  /** The cloudStream section cloudcore runs with (to start it again the same way). */
  readonly cloudStream: Record<string, unknown>;
  cloud: Cloud;
  readonly edge: Core;
  readonly node: string;
  /** The MetaServer's URL on the box. */
  readonly metaServer: string;
  /** The edge's kubelet-style server (its /metrics is edgecore's). */
  readonly kubeletServer: string;
  /** kubectl against the apiserver (or `server`, e.g. the MetaServer). */
  kubectl(args: string[], stdin?: string, server?: string): Promise<KubectlResult>;
  /** Stops everything it started, in reverse order, even after a failure. */
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startStreamEdge(name: string, node: string): Promise<StreamEdge> {
  if (!HOST_IP) throw new Error("Cannot start a stream edge: the machine has no IPv4 address but loopback");
  const stops: Array<() => Promise<unknown>> = [];
  const dispose = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const cp = await startControlPlane({ controllers: true });
    stops.push(() => cp.stop());
    const run = await createRunDir(name);
    stops.push(() => run.remove());
    const rt = await startTestRuntime(name);
    stops.push(() => rt.stop());
    const kubectl = (args: string[], stdin?: string, server?: string) =>
      runKubectl([server ? `--server=${server}` : `--kubeconfig=${cp.kubeconfigPath}`, ...args], stdin);
    const cloudStream = await cloudStreamSection(cp, run, HOST_IP, { peerPort: true });
    const tunnelPort = cloudStream.tunnelPort as number;
    const cloud = await startCloud(run, cp, { cloudStream });
    const self = { cloud };
    stops.push(() => self.cloud.stop());
    let metaServer = "";
    let kubeletServer = "";
    const joined = await joinEdge(run, cloud, node, (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
      config.modules!.edgeStream = {
        ...config.modules!.edgeStream,
        enable: true,
        tunnelServer: `127.0.0.1:${tunnelPort}`,
      };
      kubeletServer = `http://${config.modules!.edgeStream!.server}`;
      metaServer = `http://${
        (config.modules!.metaManager as { metaServer: { server: string } }).metaServer.server
      }`;
    });
    const edge = await startEdge(run, joined);
    stops.push(() => edge.stop());
    await waitFor(
      "node Ready",
      async () => {
        const out = await kubectl([
          "get",
          "node",
          node,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return out.stdout === "True";
      },
      60_000,
      500,
    );
    // cloudcore publishes the node's address and stream port once the Node exists (retried every 5 s).
    await waitFor(
      "node stream endpoint",
      async () => {
        const out = await kubectl([
          "get",
          "node",
          node,
          "-o",
          "jsonpath={.status.addresses[0].address} {.status.daemonEndpoints.kubeletEndpoint.Port}",
        ]);
        const [address, port] = out.stdout.split(" ");
        return address === HOST_IP && Number(port) > 0;
      },
      30_000,
      500,
    );
    return Object.assign(self, {
      cp,
      run,
      rt,
      cloudStream,
      edge,
      node,
      metaServer,
      kubeletServer,
      kubectl,
      [Symbol.asyncDispose]: dispose,
    });
  } catch (error) {
    await dispose();
    throw error;
  }
}
