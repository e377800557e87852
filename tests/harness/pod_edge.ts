// A control plane with its controllers, a cloudcore and one edgecore ("edge-1") on a real containerd, joined
// and registered: what the end-to-end tests of pod features (events, fsGroup, pull secrets, sidecars) run
// pods on with kubectl. Everything stops in reverse order when the test's `await using` ends, even on failure.
import { type ControlPlane, createRunDir, type RunDir, startControlPlane } from "../cluster/mod.ts";
import { startTestRuntime, type TestRuntime, type TestRuntimeOptions } from "../containerd/mod.ts";
import { waitFor } from "../containerd/pod_helpers.ts";
import type { Core } from "./cores.ts";
import { type Cloud, joinEdge, startCloud, startEdge } from "./kedge.ts";
import { kubectlFor } from "./kubectl.ts";

export const POD_EDGE_NODE = "edge-1";

export interface PodEdge {
  readonly cp: ControlPlane;
  readonly run: RunDir;
  readonly rt: TestRuntime;
  readonly cloud: Cloud;
  readonly edge: Core;
  /** kubectl against the apiserver: its stdout, or an error with its stderr. */
  kubectl(args: string[], stdin?: string): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startPodEdge(name: string, runtime: TestRuntimeOptions = {}): Promise<PodEdge> {
  const stops: Array<() => Promise<unknown>> = [];
  const dispose = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const cp = await startControlPlane({ controllers: true });
    stops.push(() => cp.stop());
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const run = await createRunDir(name);
    stops.push(() => run.remove());
    const rt = await startTestRuntime(name, runtime);
    stops.push(() => rt.stop());
    const cloud = await startCloud(run, cp);
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, POD_EDGE_NODE, (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
    });
    const edge = await startEdge(run, joined);
    stops.push(() => edge.stop());
    await waitFor(
      `node ${POD_EDGE_NODE}`,
      async () => (await kubectl(["get", "node", POD_EDGE_NODE, "-o", "name"])).trim(),
      60_000,
      500,
    );
    return { cp, run, rt, cloud, edge, kubectl, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
