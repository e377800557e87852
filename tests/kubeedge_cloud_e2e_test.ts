// Direction 2 of KubeEdge compatibility, against the real peer: kedge's edgecore joins a KubeEdge v1.23.1
// cloudcore (built from KubeEdge's source by tests/kubeedge/build.sh) with the token `keadm gettoken` prints,
// becomes a Ready node with a renewed Lease, runs a pod whose ConfigMap existed before it (KubeEdge's cloud
// does not push it: the edge must ask), reports its status, answers kubectl logs, exec and a node proxy GET
// through KubeEdge's cloudstream (its tunnel in KubeEdge's framing), and finishes its deletion. Skipped, with
// the build script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { join } from "node:path";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { createCriClient } from "../edge/cri/mod.ts";
import { joinEdge, startEdge } from "./harness/kedge.ts";
import { kubectlFor, runKubectl, streamKubectl } from "./harness/kubectl.ts";
import { assertPodToken } from "./harness/service_account.ts";
import { kubeEdgeBinaries, startKubeEdgeCloud } from "./kubeedge/cloud.ts";

const NODE = "kedge-on-kubeedge";

/** How many tick-N lines `text` has, each one more than the one before (0 when out of order). */
function ticksInOrder(text: string): number {
  const n = [...text.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
  return n.every((v, i) => i === 0 || v === n[i - 1]! + 1) ? n.length : 0;
}
/** The machine's address: the node's InternalIP, where KubeEdge's stream server listens (kubeedge/cloud.ts). */
const HOST_IP = Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  ?.address;
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge cloudcore tests: ${bins.missing}`);

Deno.test({
  name:
    "kedge edgecore on a real KubeEdge cloudcore: keadm's token, Ready, Lease, a pod with a ConfigMap, logs and exec, delete",
  ignore: "missing" in bins || HOST_IP === undefined,
  async fn(t) {
    if ("missing" in bins) return;
    await using cp = await startControlPlane({ controllers: true });
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-cloud");
    const run = await createRunDir("kubeedge-cloud");
    const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
    const stops: Array<() => Promise<void>> = [];
    try {
      // KubeEdge's stream server: a serving certificate the apiserver trusts (--kubelet-certificate-authority).
      const streamCert = await issueCertificate({
        ca: cp.pki.ca,
        commonName: "kubeedge-stream",
        usages: ["server"],
        ipAddresses: [HOST_IP!],
      });
      const stream = {
        tunnelPort: freePort(),
        streamPort: freePort(),
        certFile: join(run.path, "stream.crt"),
        keyFile: join(run.path, "stream.key"),
        caFile: join(run.path, "kubelet-client-ca.crt"),
      };
      await Deno.writeTextFile(stream.certFile, certificateToPem(streamCert.cert));
      await Deno.writeTextFile(stream.keyFile, await privateKeyToPem(streamCert.keys!.privateKey), {
        mode: 0o600,
      });
      await Deno.writeTextFile(stream.caFile, cp.caPem);
      const cloud = await startKubeEdgeCloud(run, cp, bins, { stream });
      stops.push(() => cloud.stop());
      // The token as an operator gets it: keadm gettoken against the cluster.
      const keadm = await new Deno.Command(bins.keadm, {
        args: ["gettoken", `--kube-config=${cp.kubeconfigPath}`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(keadm.code, 0, new TextDecoder().decode(keadm.stderr));
      const token = new TextDecoder().decode(keadm.stdout).trim();
      assert.equal(token, cloud.token);
      const joined = await joinEdge(run, { ...cloud, token }, NODE, (config) => {
        config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
        config.modules!.edged!.podSandboxImage = rt.images.pause;
        config.modules!.edged!.nodeStatusUpdateFrequency = 3;
        config.modules!.edgeStream = {
          ...config.modules!.edgeStream,
          enable: true,
          tunnelServer: `127.0.0.1:${stream.tunnelPort}`,
        };
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
    command: ["sh", "-c", "echo hello-from-kedge-edge; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done"]
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
        "kubectl logs and exec reach the pod through KubeEdge's cloudstream and kedge's tunnel in its framing",
        async () => {
          const kc = (args: string[], stdin?: string) =>
            runKubectl([`--kubeconfig=${cp.kubeconfigPath}`, ...args], stdin);
          // KubeEdge's tunnel server writes its port as the node's kubelet port; the edge its own address.
          await waitFor(
            "node names KubeEdge's stream server",
            async () => {
              const n = await node();
              return n.status?.daemonEndpoints?.kubeletEndpoint?.Port === stream.streamPort &&
                n.status?.addresses?.some((a: { type: string; address: string }) =>
                  a.type === "InternalIP" && a.address === HOST_IP
                );
            },
            60_000,
            1_000,
          );
          const logs = await waitFor(
            "logs",
            async () => {
              const out = await kc(["logs", "app"]);
              return out.code === 0 && out.stdout.includes("hello-from-kedge-edge") && out.stdout;
            },
            30_000,
            1_000,
          );
          assert.match(logs, /^hello-from-kedge-edge\ntick-0\n/);
          // Follow (LOGS_CONNECT until the apiserver's side ends) and attach (ATTACH_CONNECT).
          const kubeconfig = `--kubeconfig=${cp.kubeconfigPath}`;
          const followed = await streamKubectl(
            [kubeconfig, "logs", "-f", "--tail=1", "app"],
            /tick-\d+\n/,
            3,
          );
          assert.ok(ticksInOrder(followed) >= 3, `followed: ${followed}`);
          const attached = await streamKubectl([kubeconfig, "attach", "app", "-c", "app"], /tick-\d+\n/, 2);
          assert.ok(ticksInOrder(attached) >= 2, `attached: ${attached}`);
          const exec1 = await kc(["exec", "app", "--", "sh", "-c", "cat /config/greeting; exit 3"]);
          assert.equal(exec1.stdout, "hello from kubeedge", exec1.stderr);
          assert.equal(exec1.code, 3, exec1.stderr);
          const piped = await kc(["exec", "-i", "app", "--", "sh", "-c", "tr a-z A-Z"], "shout\n");
          assert.equal(piped.stdout, "SHOUT\n", piped.stderr);
          // Node proxy GETs: KubeEdge's stream server finds the session by the Host, the node's InternalIP,
          // which kedge's edge sent as SessionInternalIP; the request arrives as a METRIC_CONNECT.
          const stats = await kc(["get", "--raw", `/api/v1/nodes/${NODE}/proxy/stats/summary`]);
          assert.equal(stats.code, 0, stats.stderr);
          assert.equal(JSON.parse(stats.stdout).node.nodeName, NODE);
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
