// Direction 1 of KubeEdge compatibility, against the real peer: a KubeEdge v1.23.1 edgecore (built from
// KubeEdge's source by tests/kubeedge/build.sh, its own kubelet inside) joins kedge's cloudcore with a token
// from `cloudcore gettoken`, becomes a Ready node with its Lease, runs a pod with a ConfigMap volume and a
// Secret in its environment, reports status, and finishes its deletion. Skipped, with the build script's
// one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { getToken, startCloud } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { kubeEdgeBinaries } from "./kubeedge/cloud.ts";
import { startKubeEdgeEdge } from "./kubeedge/edge.ts";

const NODE = "kubeedge-on-kedge";
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge edgecore tests: ${bins.missing}`);

Deno.test({
  name:
    "a real KubeEdge edgecore on kedge's cloudcore: join, Ready, Lease, a pod with a ConfigMap and a Secret, delete",
  ignore: "missing" in bins,
  async fn(t) {
    if ("missing" in bins) return;
    await using cp = await startControlPlane({ controllers: true });
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-edge");
    const run = await createRunDir("kubeedge-edge");
    const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
    const stops: Array<() => Promise<void>> = [];
    try {
      const cloud = await startCloud(run, cp);
      stops.push(() => cloud.stop());
      const token = await getToken(cloud);
      const edge = await startKubeEdgeEdge(run, bins, { ...cloud.ports, token }, rt, NODE);
      stops.push(() => edge.stop());

      await t.step("joins with kedge's token and its Node becomes Ready with a Lease", async () => {
        // Every request of a KubeEdge edge waits for a reply it routes by group: with replies in group meta
        // it never registered (60 s timeouts), and without lease queries its Lease never existed.
        await waitFor(
          "node Ready",
          async () => {
            const node = JSON.parse(await kubectl(["get", "node", NODE, "-o", "json"]).catch(() => "{}"));
            return node.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status ===
              "True";
          },
          90_000,
          1_000,
        );
        const holder = await waitFor(
          "lease",
          async () => {
            const out = await kubectl(["-n", "kube-node-lease", "get", "lease", NODE, "-o", "json"]).catch(
              () => "",
            );
            return out ? JSON.parse(out).spec.holderIdentity : false;
          },
          30_000,
          1_000,
        );
        assert.equal(holder, NODE);
      });

      await t.step(
        "a pod with a ConfigMap volume and a Secret env runs; status in the apiserver",
        async () => {
          await kubectl(["create", "configmap", "app-config", "--from-literal=greeting=hello from kedge"]);
          await kubectl(["create", "secret", "generic", "app-secret", "--from-literal=token=s3cret"]);
          await kubectl(
            ["apply", "-f", "-"],
            `
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  nodeName: ${NODE}
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: ${rt.images.busybox}
    command: ["sh", "-c", "exec sleep 3600"]
    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: app-secret, key: token}}}]
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
            90_000,
            1_000,
          );
          const containers = await cri.listContainers({ labelSelector: { "io.kubernetes.pod.name": "app" } });
          const running = containers.find((c) => c.state === "CONTAINER_RUNNING");
          assert.ok(running, "a running container for pod app");
          assert.equal(await exec(cri, running.id, "cat /config/greeting"), "hello from kedge");
          assert.equal(await exec(cri, running.id, 'printf %s "$TOKEN"'), "s3cret");
        },
      );

      await t.step("kubectl delete pod finishes on the KubeEdge edge", async () => {
        await kubectl(["delete", "pod", "app", "--wait=false"]);
        await waitFor(
          "pod gone from the apiserver",
          async () => {
            const out = await kubectl(["get", "pods", "-o", "name"]);
            return !out.includes("pod/app");
          },
          60_000,
          1_000,
        );
      });
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      cri.close();
      await run.remove();
      await rt.stop();
    }
  },
});
