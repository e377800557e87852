// The service environment variables against the real peer: kedge's edgecore on a KubeEdge v1.23.1 cloudcore
// with its dynamicController on asks for the Services with KubeEdge's own MetaServer Application, and
// KubeEdge's cloud answers it, so the pod's container starts with the kubelet's FOO_SERVICE_HOST, ... and
// KUBERNETES_SERVICE_HOST. (With the dynamicController off, KubeEdge's default, the request goes unanswered:
// kubeedge_cloud_e2e_test.ts runs pods that way, which then start without the variables after 5 s.) Skipped,
// with the build script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { joinEdge, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { kubeEdgeBinaries, startKubeEdgeCloud } from "./kubeedge/cloud.ts";

const NODE = "kedge-services";
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge cloudcore tests: ${bins.missing}`);

Deno.test({
  name: "kedge edgecore on a KubeEdge cloudcore with its dynamicController: service environment variables",
  ignore: "missing" in bins,
  async fn() {
    if ("missing" in bins) return;
    await using cp = await startControlPlane({ controllers: true });
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-services");
    const run = await createRunDir("kubeedge-services");
    const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
    const stops: Array<() => Promise<void>> = [];
    try {
      const cloud = await startKubeEdgeCloud(run, cp, bins, { dynamicController: true });
      stops.push(() => cloud.stop());
      const joined = await joinEdge(run, cloud, NODE, (config) => {
        config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
        config.modules!.edged!.podSandboxImage = rt.images.pause;
      });
      const edge = await startEdge(run, joined);
      stops.push(() => edge.stop());
      await waitFor("node", () => kubectl(["get", "node", NODE, "-o", "name"]), 60_000, 500);
      await waitFor(
        "the default ServiceAccount",
        () => kubectl(["get", "sa", "default", "-o", "name"]),
        60_000,
        500,
      );
      await kubectl(
        ["apply", "-f", "-"],
        `apiVersion: v1
kind: Service
metadata: {name: web-svc, namespace: default}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${rt.images.busybox}
    command: ["sh", "-c", "exec sleep 3600"]
`,
      );
      const webIP = (await kubectl(["get", "svc", "web-svc", "-o", "jsonpath={.spec.clusterIP}"])).trim();
      const masterIP = (await kubectl(["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]))
        .trim();
      const id = await waitFor(
        "app running",
        async () => {
          const status = JSON.parse(await kubectl(["get", "pod", "app", "-o", "json"])).status;
          const c = status?.containerStatuses?.[0];
          return c?.state?.running && typeof c.containerID === "string" &&
            c.containerID.replace("containerd://", "");
        },
        90_000,
        500,
      );
      const lines = (await exec(cri, id, "tr '\\0' '\\n' </proc/1/environ")).split("\n");
      const vars = new Map(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      assert.equal(vars.get("KUBERNETES_SERVICE_HOST"), masterIP);
      assert.equal(vars.get("KUBERNETES_PORT_443_TCP"), `tcp://${masterIP}:443`);
      assert.equal(vars.get("WEB_SVC_SERVICE_HOST"), webIP);
      assert.equal(vars.get("WEB_SVC_SERVICE_PORT_HTTP"), "8080");
      assert.equal(vars.get("WEB_SVC_PORT"), `tcp://${webIP}:8080`);
    } finally {
      cri.close();
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await rt.stop().catch(() => {});
      await run.remove().catch(() => {});
    }
  },
});
