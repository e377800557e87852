// One kedge edge node for Kubernetes' e2e suite: the test control plane with its controllers, a loopback
// registry holding the suite's images (KUBE_TEST_REPO_LIST points every registry of
// test/utils/image/manifest.go at it), a containerd, cloudcore with cloudStream (kubectl logs/exec through
// the tunnel) and one edgecore, the only schedulable node, Ready with its stream endpoint; the pods reach the
// apiserver through the `kubernetes` Service and aggregated API servers get its front proxy's identity
// (apiserver_access.ts). Used by `make conformance` (run.ts) and the subset in `make test`
// (tests/conformance_subset_e2e_test.ts).
import { join } from "node:path";
import { type ControlPlane, type RunDir, startControlPlane } from "../cluster/mod.ts";
import { startContainerd, startRegistry } from "../containerd/mod.ts";
import { waitFor } from "../containerd/pod_helpers.ts";
import { cloudStreamSection } from "../harness/cloud_stream.ts";
import { joinEdge, startCloud, startEdge } from "../harness/kedge.ts";
import { runKubectl } from "../harness/kubectl.ts";
import { SERVICE_CLUSTER_IP_RANGE } from "../cluster/cluster_pki.ts";
import { frontProxyArgs, routeKubernetesService } from "./apiserver_access.ts";
import { SUITE_IMAGES } from "./binaries.ts";

export const NODE = "kedge-edge-1";

/** kube-apiserver's node proxy refuses loopback addresses, so the stream server uses the machine's own. */
export const HOST_IP = Deno.networkInterfaces().find((i) =>
  i.family === "IPv4" && !i.address.startsWith("127.")
)?.address;

/**
 * The test apiserver's flags changed for the suite, after the usual ones (the last of a flag wins):
 * - it advertises the machine's address and listens on all addresses: the address it advertises goes into the
 *   `kubernetes` Endpoints, which may not be a loopback one (the apiserver's reconciler fails to write
 *   127.0.0.1 and logs "may not be in the loopback range"), and the suite checks that object
 *   (EndpointSlice "should have Endpoints and EndpointSlices pointing to API Server");
 * - watches last as long as in a real cluster (the default 1800 s), not the few seconds the tests use to
 *   cross watch expiries: the suite's Watchers specs fail on "Watch closed unexpectedly";
 * - it calls webhooks behind a Service at a ready endpoint's pod IP, not at the Service's cluster IP (there is
 *   no kube-proxy on this machine): the edge node is this machine, so its pod IPs are routable from here.
 *   On a real edge they are not (KubeEdge leaves that to edgemesh); here the admission and conversion
 *   webhook specs then test the node's part: the webhook's pod, its secret and readiness. The same holds for
 *   an aggregated API server behind a Service (the Aggregator spec's sample-apiserver);
 * - and those of the front proxy (apiserver_access.ts frontProxyArgs), added in startConformanceNode.
 */
export const CONFORMANCE_APISERVER_ARGS = [
  `--advertise-address=${HOST_IP}`,
  "--bind-address=0.0.0.0",
  "--min-request-timeout=1800",
  "--enable-aggregator-routing=true",
];

export type Kubectl = (
  args: string[],
  stdin?: string,
) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface ConformanceNode {
  cp: ControlPlane;
  /** The file KUBE_TEST_REPO_LIST names: every registry of the suite is the loopback one. */
  repoList: string;
  /** Image names in the loopback registry by layout tag (agnhost, busybox, pause, ...). */
  images: Record<string, string>;
  kubectl: Kubectl;
  /** Stops everything it started, last first. */
  stop(): Promise<void>;
}

/** Starts everything in `run`; what started is stopped again when a later step fails. */
export async function startConformanceNode(run: RunDir, layout: string): Promise<ConformanceNode> {
  if (!HOST_IP) throw new Error("Cannot start the node: no non-loopback IPv4 address for the stream server");
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((e) => console.error(`stop: ${e}`));
  };
  try {
    // The aggregation layer's front proxy and the `kubernetes` Service for pods (apiserver_access.ts).
    const cp = await startControlPlane({
      controllers: true,
      extraArgs: { apiserver: [...CONFORMANCE_APISERVER_ARGS, ...await frontProxyArgs(run)] },
    });
    stops.push(() => cp.stop());
    const kubectl: Kubectl = (args, stdin) =>
      runKubectl([`--kubeconfig=${cp.kubeconfigPath}`, ...args], stdin);
    const registry = await startRegistry(run);
    stops.push(() => registry.stop());
    const images: Record<string, string> = {};
    for (const [tag, repo, reference] of SUITE_IMAGES) {
      images[tag] = await registry.push(layout, tag, repo, reference);
    }
    const repoList = join(run.path, "repo-list.yaml");
    await Deno.writeTextFile(
      repoList,
      [
        `promoterE2eRegistry: ${registry.host}/e2e-test-images`,
        `buildImageRegistry: ${registry.host}/build-image`,
        `gcEtcdRegistry: ${registry.host}`,
        `gcRegistry: ${registry.host}`,
        `sigStorageRegistry: ${registry.host}/sig-storage`,
        `dockerLibraryRegistry: ${registry.host}/library`,
        `cloudProviderGcpRegistry: ${registry.host}/cloud-provider-gcp`,
        "",
      ].join("\n"),
    );
    const containerd = await startContainerd(run, {
      registryHost: registry.host,
      sandboxImage: images.pause!,
      podRoutes: [SERVICE_CLUSTER_IP_RANGE],
    });
    stops.push(() => containerd.stop());
    stops.push(await routeKubernetesService(run, kubectl, containerd.bridge));

    // cloudStream as tests/streaming_e2e_test.ts (tests/harness/cloud_stream.ts).
    const cloudStream = await cloudStreamSection(cp, run, HOST_IP, { nodePorts: 10, peerPort: true });
    const tunnelPort = cloudStream.tunnelPort as number;
    const portBase = (cloudStream.nodePortRange as { min: number }).min;
    const cloud = await startCloud(run, cp, { cloudStream });
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, NODE, (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = containerd.endpoint;
      config.modules!.edged!.podSandboxImage = images.pause!;
      config.modules!.edgeStream = {
        ...config.modules!.edgeStream,
        enable: true,
        tunnelServer: `127.0.0.1:${tunnelPort}`,
      };
    });
    const edge = await startEdge(run, joined);
    stops.push(() => edge.stop());

    await waitFor(
      "the edge node Ready with its stream endpoint",
      async () => {
        const out = await kubectl(["get", "node", NODE, "-o", "json"]);
        if (out.code !== 0) return false;
        const node = JSON.parse(out.stdout);
        const ready = node.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status;
        return ready === "True" && node.status?.daemonEndpoints?.kubeletEndpoint?.Port >= portBase;
      },
      120_000,
      1000,
    );
    return { cp, repoList, images, kubectl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
