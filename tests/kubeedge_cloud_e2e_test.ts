// Direction 2 of KubeEdge compatibility, against the real peer: kedge's edgecore joins a KubeEdge v1.23.1
// cloudcore (built from KubeEdge's source by tests/kubeedge/build.sh) with the token KubeEdge wrote, becomes a
// Ready node with a renewed Lease, runs a pod whose ConfigMap existed before it (KubeEdge's cloud does not
// push it: the edge must ask), reports its status, and finishes its deletion. Skipped, with the build
// script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { joinEdge, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { assertPodToken } from "./harness/service_account.ts";
import { kubeEdgeBinaries, startKubeEdgeCloud } from "./kubeedge/cloud.ts";

const NODE = "kedge-on-kubeedge";
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge cloudcore tests: ${bins.missing}`);

Deno.test({
  name: "kedge edgecore on a real KubeEdge cloudcore: join, Ready, Lease, a pod with a ConfigMap, delete",
  ignore: "missing" in bins,
  async fn(t) {
    if ("missing" in bins) return;
    await using cp = await startControlPlane({ controllers: true });
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-cloud");
    const run = await createRunDir("kubeedge-cloud");
    const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
    const stops: Array<() => Promise<void>> = [];
    try {
      const cloud = await startKubeEdgeCloud(run, cp, bins);
      stops.push(() => cloud.stop());
      const joined = await joinEdge(run, cloud, NODE, (config) => {
        config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
        config.modules!.edged!.podSandboxImage = rt.images.pause;
        config.modules!.edged!.nodeStatusUpdateFrequency = 3;
      });
      const edge = await startEdge(run, joined);
      stops.push(() => edge.stop());

      const node = async () => JSON.parse(await kubectl(["get", "node", NODE, "-o", "json"]));
      const renewTime = async () =>
        JSON.parse(await kubectl(["-n", "kube-node-lease", "get", "lease", NODE, "-o", "json"])).spec
          .renewTime;

      await t.step(
        "joins with KubeEdge's token and becomes a Ready edge node with a renewed Lease",
        async () => {
          await waitFor(
            "node Ready",
            async () => {
              const n = await node().catch(() => undefined);
              return n?.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status ===
                "True";
            },
            60_000,
            500,
          );
          const labels = (await node()).metadata.labels;
          assert.equal(labels["node-role.kubernetes.io/edge"], "");
          const first = await waitFor("lease", () => renewTime().catch(() => false), 30_000, 500);
          // leaseDurationSeconds 40 / 4: renewed every 10 s, each an update carrying the version it read.
          await waitFor("lease renewed", async () => (await renewTime()) !== first, 25_000, 1_000);
        },
      );

      await t.step(
        "a pod whose ConfigMap existed before it runs with its service-account token; its status reaches the apiserver",
        async () => {
          await kubectl(["create", "configmap", "app-config", "--from-literal=greeting=hello from kubeedge"]);
          await kubectl(
            ["apply", "-f", "-"],
            `
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  nodeName: ${NODE}
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${rt.images.busybox}
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts: [{name: config, mountPath: /config}]
  volumes:
  - name: config
    configMap: {name: app-config}
`,
          );
          await waitFor(
            "pod Running",
            async () => {
              const phase = await kubectl(["get", "pod", "app", "-o", "jsonpath={.status.phase}"]);
              return phase === "Running";
            },
            60_000,
            500,
          );
          const containers = await cri.listContainers({ labelSelector: { "io.kubernetes.pod.name": "app" } });
          const running = containers.find((c) => c.state === "CONTAINER_RUNNING");
          assert.ok(running, "a running container for pod app");
          assert.equal(await exec(cri, running.id, "cat /config/greeting"), "hello from kubeedge");
          // Asked of KubeEdge's cloud as a KubeEdge edge asks: query <ns>/serviceaccounttoken/<sa>.
          await assertPodToken(kubectl, cri, running.id, { namespace: "default", name: "app" });
          // Events go up as KubeEdge's edged sends them (insert <ns>/event/<name>); KubeEdge's cloud creates them.
          await waitFor(
            "a Started event about the pod",
            async () =>
              (await kubectl(["get", "events", "--field-selector", "involvedObject.name=app,reason=Started"]))
                .includes("Started container app"),
            30_000,
            500,
          );
        },
      );

      await t.step(
        "kubectl delete pod finishes: the edge's delete carries DeleteOptions with the uid",
        async () => {
          await kubectl(["delete", "pod", "app", "--wait=false"]);
          await waitFor(
            "pod gone from the apiserver",
            async () => {
              const out = await kubectl(["get", "pods", "-o", "name"]);
              return !out.includes("pod/app");
            },
            60_000,
            500,
          );
          await waitFor(
            "containers gone",
            async () => {
              const containers = await cri.listContainers({
                labelSelector: { "io.kubernetes.pod.name": "app" },
              });
              return containers.every((c) => c.state !== "CONTAINER_RUNNING");
            },
            30_000,
            500,
          );
        },
      );
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      cri.close();
      await run.remove();
      await rt.stop();
    }
  },
});
