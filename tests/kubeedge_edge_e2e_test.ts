// Direction 1 of KubeEdge compatibility, against the real peer: a KubeEdge v1.23.1 edgecore (built from
// KubeEdge's source by tests/kubeedge/build.sh, its own kubelet inside) joins kedge's cloudcore with a token
// from `cloudcore gettoken`, becomes a Ready node with its Lease, runs a Deployment's pod with a ConfigMap
// volume, a Secret in its environment and the projected service-account token every pod gets by default
// (a TokenRequest through kedge's cloud), lists Services through its MetaServer (an Application kedge's
// cloud answers for the pod's namespace and refuses for another), reports status, answers kubectl logs,
// exec and a node proxy GET through its edgestream tunnel to kedge's cloud, keeps the pod through 60 s
// without its cloud, is Ready again after, and finishes the pod's deletion. Skipped, with the build
// script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { cloudStreamSection } from "./harness/cloud_stream.ts";
import { getToken, metric, startCloud } from "./harness/kedge.ts";
import { kubectlFor, runKubectl, streamKubectl } from "./harness/kubectl.ts";
import { assertPodToken } from "./harness/service_account.ts";
import { kubeEdgeBinaries } from "./kubeedge/cloud.ts";
import { startKubeEdgeEdge } from "./kubeedge/edge.ts";

const NODE = "kubeedge-on-kedge";

/** How many tick-N lines `text` has, each one more than the one before (0 when out of order). */
function ticksInOrder(text: string): number {
  const n = [...text.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
  return n.every((v, i) => i === 0 || v === n[i - 1]! + 1) ? n.length : 0;
}
/** kube-apiserver reaches kedge's stream server here (the machine's own address, as in streaming_e2e_test). */
const HOST_IP = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  ?.address;
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge edgecore tests: ${bins.missing}`);

Deno.test({
  name:
    "a real KubeEdge edgecore on kedge's cloudcore: join, Ready, Lease, a Deployment's pod with a ConfigMap, a Secret and a service-account token, logs and exec, offline 60 s, delete",
  ignore: "missing" in bins || HOST_IP === undefined,
  async fn(t) {
    if ("missing" in bins) return;
    await using cp = await startControlPlane({ controllers: true });
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-edge");
    const run = await createRunDir("kubeedge-edge");
    const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
    const stops: Array<() => Promise<void>> = [];
    try {
      // kedge's stream server, with a serving certificate the apiserver trusts (--kubelet-certificate-authority).
      const cloudStream = await cloudStreamSection(cp, run, HOST_IP!);
      const tunnelPort = cloudStream.tunnelPort as number;
      const { min: portBase } = cloudStream.nodePortRange as { min: number };
      let cloud = await startCloud(run, cp, { cloudStream });
      stops.push(() => cloud.stop());
      const token = await getToken(cloud);
      const metaServerPort = freePort();
      const edge = await startKubeEdgeEdge(run, bins, { ...cloud.ports, token }, rt, NODE, {
        overrides: (m, dir) => {
          // KubeEdge's MetaServer (plain HTTP without its RequireAuthorization feature gate), whose reads of
          // what the edge does not hold go to the cloud as Applications.
          m.metaManager = {
            ...m.metaManager,
            metaServer: { enable: true, server: `127.0.0.1:${metaServerPort}` },
          };
          // KubeEdge's edgestream dials kedge's tunnel port with the edge's node certificate.
          m.edgeStream = {
            ...m.edgeStream,
            enable: true,
            server: `127.0.0.1:${tunnelPort}`,
            tlsTunnelCAFile: join(dir, "ca/rootCA.crt"),
            tlsTunnelCertFile: join(dir, "certs/server.crt"),
            tlsTunnelPrivateKeyFile: join(dir, "certs/server.key"),
          };
          // KubeEdge's stream protocol names the edge's kubelet as 127.0.0.1:10350 (its read-only port, which
          // serves logs and exec in KubeEdge's kubelet); no other test binds that default.
          (m.edged!.tailoredKubeletConfig as Record<string, unknown>).readOnlyPort = 10350;
        },
      });
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

      const appPod = async () => {
        const out = await kubectl(["get", "pods", "-l", "app=app", "-o", "json"]);
        return JSON.parse(out).items[0] as
          | { metadata: { name: string; uid: string }; status?: { phase?: string } }
          | undefined;
      };
      const runningContainer = async () => {
        const containers = await cri.listContainers({
          labelSelector: { "io.kubernetes.container.name": "app" },
        });
        return containers.find((c) => c.state === "CONTAINER_RUNNING");
      };
      const nodeReady = async () => {
        const node = JSON.parse(await kubectl(["get", "node", NODE, "-o", "json"]).catch(() => "{}"));
        return node.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status;
      };

      await t.step(
        "a Deployment's pod with a ConfigMap volume, a Secret env and a service-account token runs",
        async () => {
          await kubectl(["create", "configmap", "app-config", "--from-literal=greeting=hello from kedge"]);
          await kubectl(["create", "secret", "generic", "app-secret", "--from-literal=token=s3cret"]);
          await kubectl(
            ["apply", "-f", "-"],
            `
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      nodeSelector: {node-role.kubernetes.io/edge: ""}
      hostNetwork: true
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ${rt.images.busybox}
        command: ["sh", "-c", "echo hello-from-kubeedge; echo to-stderr >&2; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done"]
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: app-secret, key: token}}}]
        volumeMounts: [{name: config, mountPath: /config}]
      volumes:
      - name: config
        configMap: {name: app-config}
`,
          );
          await waitFor(
            "pod Running",
            async () => (await appPod())?.status?.phase === "Running",
            120_000,
            1_000,
          );
          const running = await runningContainer();
          assert.ok(running, "a running container for the Deployment's pod");
          assert.equal(await exec(cri, running.id, "cat /config/greeting"), "hello from kedge");
          assert.equal(await exec(cri, running.id, 'printf %s "$TOKEN"'), "s3cret");

          // The token KubeEdge's kubelet asked kedge's cloud for: the apiserver says whose it is and which pod holds it.
          const pod = (await appPod())!.metadata.name;
          await assertPodToken(kubectl, cri, running.id, { namespace: "default", name: pod });
        },
      );

      await t.step(
        "KubeEdge's MetaServer lists Services through kedge's cloud: its pod's namespace only",
        async () => {
          const services = async (namespace: string) => {
            const res = await fetch(
              `http://127.0.0.1:${metaServerPort}/api/v1/namespaces/${namespace}/services`,
            );
            assert.equal(res.status, 200, await res.clone().text());
            const list = await res.json();
            return (list.items as { metadata: { name: string } }[]).map((s) => s.metadata.name);
          };
          assert.deepEqual(await services("default"), ["kubernetes"]);
          // No pod of the node in kube-system: kedge's cloud refuses, and the MetaServer answers from its store.
          const denied = async () =>
            await metric(
              cloud.ports.metrics,
              'kedge_cloud_denied_requests_total{operation="application",reason="no_pod_in_namespace"}',
            ) ?? 0;
          const before = await denied();
          assert.deepEqual(await services("kube-system"), []);
          assert.equal(await denied(), before + 1);
        },
      );

      await t.step(
        "kubectl logs and exec reach the pod on the KubeEdge edge through its edgestream tunnel to kedge's cloud",
        async () => {
          const pod = (await appPod())!.metadata.name;
          const kc = (args: string[], stdin?: string) =>
            runKubectl([`--kubeconfig=${cp.kubeconfigPath}`, ...args], stdin);
          // The Node names kedge's stream server (its port for this node), not the edge's own kubelet.
          const node = JSON.parse(await kubectl(["get", "node", NODE, "-o", "json"]));
          assert.equal(
            node.status.addresses.find((a: { type: string }) => a.type === "InternalIP")?.address,
            HOST_IP,
          );
          const port = node.status.daemonEndpoints.kubeletEndpoint.Port;
          assert.ok(port >= portBase && port <= portBase + 50, `kubelet port ${port} is kedge's stream port`);
          const logs = await waitFor(
            "logs",
            async () => {
              const out = await kc(["logs", pod]);
              return out.code === 0 && out.stdout.includes("hello-from-kubeedge") && out.stdout;
            },
            30_000,
            1_000,
          );
          assert.match(logs, /^hello-from-kubeedge$/m);
          assert.match(logs, /^to-stderr$/m);
          // Follow (LOGS_CONNECT until the apiserver's side ends) and attach (ATTACH_CONNECT).
          const kubeconfig = `--kubeconfig=${cp.kubeconfigPath}`;
          const followed = await streamKubectl([kubeconfig, "logs", "-f", "--tail=1", pod], /tick-\d+\n/, 3);
          assert.ok(ticksInOrder(followed) >= 3, `followed: ${followed}`);
          const attached = await streamKubectl([kubeconfig, "attach", pod, "-c", "app"], /tick-\d+\n/, 2);
          assert.ok(ticksInOrder(attached) >= 2, `attached: ${attached}`);
          const exec1 = await kc(["exec", pod, "--", "sh", "-c", "echo from-$TOKEN; exit 3"]);
          assert.match(exec1.stdout, /from-s3cret/);
          assert.equal(exec1.code, 3, exec1.stderr);
          const piped = await kc(["exec", "-i", pod, "--", "sh", "-c", "tr a-z A-Z"], "shout\n");
          assert.equal(piped.stdout, "SHOUT\n", piped.stderr);
          // Other kubelet GETs go as KubeEdge's METRIC_CONNECT (its kubelet's /stats/summary fails in a container
          // sandbox: no filesystem info for the root device; /pods answers).
          const pods = await kc(["get", "--raw", `/api/v1/nodes/${NODE}/proxy/pods`]);
          assert.equal(pods.code, 0, pods.stderr);
          const list = JSON.parse(pods.stdout);
          assert.equal(list.kind, "PodList");
          assert.ok(list.items.some((p: { metadata: { name: string } }) => p.metadata.name === pod));
          // It went through kedge's tunnel: the node's tunnel is KubeEdge's framing.
          assert.equal(
            await metric(cloud.ports.metrics, 'kedge_cloud_stream_tunnels{protocol="kubeedge"}'),
            1,
          );
        },
      );

      await t.step("cloudcore away 60 s: the pod's container keeps running; Ready again after", async () => {
        const before = await runningContainer();
        assert.ok(before);
        const ports = cloud.ports;
        await cloud.stop();
        const until = Date.now() + 60_000;
        while (Date.now() < until) {
          await new Promise((r) => setTimeout(r, 10_000));
          const now = await runningContainer();
          assert.equal(now?.id, before.id, "the same container runs while the cloud is away");
        }
        cloud = await startCloud(run, cp, { ports, cloudStream });
        await waitFor("node Ready again", async () => await nodeReady() === "True", 90_000, 1_000);
        assert.equal((await runningContainer())?.id, before.id, "not restarted by the reconnect");
        assert.equal((await appPod())?.status?.phase, "Running");
      });

      await t.step("kubectl delete deployment finishes the pod on the KubeEdge edge", async () => {
        await kubectl(["delete", "deployment", "app", "--wait=false"]);
        await waitFor("pod gone from the apiserver", async () => !(await appPod()), 60_000, 1_000);
        await waitFor(
          "container gone from containerd",
          async () => !(await runningContainer()),
          30_000,
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
