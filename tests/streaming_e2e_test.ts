// kubectl logs, exec and stats of an edge pod through the real apiserver, cloudcore and edgecore processes,
// and the MetaServer on the box with the cloud up and down. No iptables: the node's kubelet endpoint is a
// port of cloudcore's stream server (docs/streaming.md).
import assert from "node:assert/strict";
import https from "node:https";
import { certificateToPem, issueCertificate, privateKeyToPem } from "../lib/pki/mod.ts";
import { controlPlaneBinaries } from "./cluster/mod.ts";
import { waitFor } from "./containerd/pod_helpers.ts";
import { metric, startCloud } from "./harness/kedge.ts";
import { HOST_IP, startStreamEdge } from "./harness/stream_edge.ts";

Deno.test({
  name:
    "kubectl logs, exec and stats reach an edge pod; the MetaServer answers kubectl with the cloud up and down",
  ignore: HOST_IP === undefined,
  fn: async (t) => {
    await using env = await startStreamEdge("stream-e2e", "edge-s");
    const { cp, rt, run, metaServer, kubectl } = env;
    const { kubectl: kubectlPath } = await controlPlaneBinaries();
    const applied = await kubectl(
      ["apply", "-f", "-"],
      `
apiVersion: v1
kind: Pod
metadata: {name: talker, namespace: default, labels: {app: talker}}
spec:
  nodeSelector: {node-role.kubernetes.io/edge: ""}
  containers:
  - name: app
    image: ${rt.images.busybox}
    command: ["sh", "-c", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.2; done"]
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor(
      "talker Running",
      async () => {
        const out = await kubectl(["get", "pod", "talker", "-o", "jsonpath={.status.phase}"]);
        return out.stdout === "Running";
      },
      90_000,
      500,
    ).catch(async (error) => {
      const state = await kubectl(["get", "pods,nodes", "-o", "wide"]);
      throw new Error(`${error.message}\n${state.stdout}`);
    });

    await t.step("kubectl logs and logs -f through the apiserver and the tunnel", async () => {
      const logs = await waitFor(
        "logs",
        async () => {
          const out = await kubectl(["logs", "talker"]);
          return out.code === 0 && out.stdout.includes("line-1") && out.stdout;
        },
        30_000,
        500,
      );
      assert.match(logs, /^line-0$/m);
      const follow = new Deno.Command(kubectlPath, {
        args: [`--kubeconfig=${cp.kubeconfigPath}`, "logs", "-f", "--tail=1", "talker"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = follow.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while ((seen.match(/line-/g) ?? []).length < 5) seen += (await reader.read()).value ?? "";
      follow.kill("SIGTERM");
      await reader.cancel();
      await follow.status;
      const numbers = [...seen.matchAll(/line-(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(
        numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1),
        `followed lines in order: ${numbers}`,
      );
    });

    await t.step("kubectl exec with a command and with stdin", async () => {
      const out = await kubectl(["exec", "talker", "--", "sh", "-c", "echo from-$HOSTNAME; exit 3"]);
      assert.match(out.stdout, /from-talker/);
      assert.equal(out.code, 3);
      const piped = await kubectl(["exec", "-i", "talker", "--", "sh", "-c", "tr a-z A-Z"], "shout\n");
      assert.equal(piped.stdout, "SHOUT\n");
    });

    await t.step("kubectl debug adds an ephemeral container: it runs, logs and exec reach it", async () => {
      const debug = await kubectl([
        "debug",
        "talker",
        `--image=${rt.images.busybox}`,
        "--image-pull-policy=IfNotPresent",
        "-c",
        "debugger",
        "--",
        "sh",
        "-c",
        "while true; do echo polo; sleep 1; done",
      ]);
      assert.equal(debug.code, 0, debug.stderr);
      await waitFor(
        "debugger running",
        async () => {
          const pod = JSON.parse((await kubectl(["get", "pod", "talker", "-o", "json"])).stdout);
          const s = pod.status?.ephemeralContainerStatuses?.find((c: { name: string }) =>
            c.name === "debugger"
          );
          return s?.state?.running !== undefined;
        },
        60_000,
        500,
      );
      assert.equal(
        (await kubectl(["exec", "talker", "-c", "debugger", "--", "echo", "marco"])).stdout,
        "marco\n",
      );
      await waitFor(
        "polo in its log",
        async () => (await kubectl(["logs", "talker", "-c", "debugger"])).stdout.includes("polo"),
      );
      const restarts = JSON.parse((await kubectl(["get", "pod", "talker", "-o", "json"])).stdout).status
        .containerStatuses[0].restartCount;
      assert.equal(restarts, 0, "the pod's own container is left alone");
    });

    await t.step("kubectl get --raw .../proxy/stats/summary answers", async () => {
      const out = await kubectl(["get", "--raw", "/api/v1/nodes/edge-s/proxy/stats/summary"]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(JSON.parse(out.stdout).node.nodeName, "edge-s");
    });

    await t.step(
      "the stream port authorizes like a kubelet: a SubjectAccessReview per caller, verb and subresource",
      async () => {
        // Two users with certificates from the kubelet-client CA: alice has no rights, bob nodes/proxy only.
        const rbac = await kubectl(
          ["apply", "-f", "-"],
          `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-proxy-only}
rules: [{apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get", "create"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bob-node-proxy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-proxy-only}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
`,
        );
        assert.equal(rbac.code, 0, rbac.stderr);
        const port = Number(
          (await kubectl([
            "get",
            "node",
            "edge-s",
            "-o",
            "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
          ]))
            .stdout,
        );
        const asUser = async (user: string, path: string) => {
          const leaf = await issueCertificate({ ca: cp.pki.ca, commonName: user, usages: ["client"] });
          const cert = certificateToPem(leaf.cert);
          const key = await privateKeyToPem(leaf.keys!.privateKey);
          return await new Promise<{ status: number; body: string }>((resolve, reject) => {
            const req = https.request({
              host: HOST_IP,
              port,
              path,
              cert,
              key,
              ca: cp.caPem,
              timeout: 10_000,
            }, (res) => {
              let body = "";
              res.setEncoding("utf8");
              res.on("data", (chunk: string) => {
                body += chunk;
                if (body.length > 200) res.destroy();
              });
              res.on("close", () => resolve({ status: res.statusCode ?? 0, body }));
            });
            req.on("error", reject);
            req.end();
          });
        };
        const logs = "/containerLogs/default/talker/app";
        const alice = await asUser("alice", logs);
        assert.equal(alice.status, 403, alice.body);
        assert.match(alice.body, /user=alice, verb=get, resource=nodes, subresource=proxy/);
        const bob = await asUser("bob", logs);
        assert.equal(bob.status, 200, bob.body);
        assert.match(bob.body, /line-\d+/);
        const stats = await asUser("bob", "/stats/summary");
        assert.equal(stats.status, 403, "nodes/proxy does not give nodes/stats");
        assert.match(stats.body, /subresource=stats/);
        const denied = await metric(env.cloud.ports.metrics, "kedge_cloud_stream_denied_total");
        assert.ok((denied ?? 0) >= 1, `denials counted: ${denied}`);
      },
    );

    await t.step("bad input: an unknown pod and an unknown container are clear errors", async () => {
      const container = await kubectl(["logs", "talker", "-c", "nope"]);
      assert.notEqual(container.code, 0);
      assert.match(container.stderr, /nope/);
      const pod = await kubectl(["logs", "no-such-pod"]);
      assert.notEqual(pod.code, 0);
      assert.match(pod.stderr, /not found/);
    });

    await t.step("a kubectl watch on the MetaServer streams a pod created in the cloud", async () => {
      const watch = new Deno.Command(kubectlPath, {
        args: [`--server=${metaServer}`, "get", "pods", "--watch", "-o", "name"],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = watch.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let seen = "";
        while (!seen.includes("pod/talker")) seen += (await reader.read()).value ?? "";
        const overrides = JSON.stringify({
          spec: { nodeSelector: { "node-role.kubernetes.io/edge": "" } },
        });
        const created = await kubectl(
          [
            "run",
            "second",
            `--image=${rt.images.busybox}`,
            `--overrides=${overrides}`,
            "--",
            "sleep",
            "3600",
          ],
        );
        assert.equal(created.code, 0, created.stderr);
        while (!seen.includes("pod/second")) seen += (await reader.read()).value ?? "";
      } finally {
        watch.kill("SIGTERM");
        await reader.cancel();
        await watch.status;
      }
    });

    await t.step(
      "kubectl against the MetaServer lists the node's pods with the cloud up and down",
      async () => {
        const up = await kubectl(["get", "pods", "-o", "name"], undefined, metaServer);
        assert.match(up.stdout, /^pod\/talker$/m, up.stderr);
        await env.cloud.stop();
        const down = await kubectl(["get", "pods", "-o", "name"], undefined, metaServer);
        assert.match(down.stdout, /^pod\/talker$/m, down.stderr);
        env.cloud = await startCloud(run, cp, {
          name: "cloudcore-back",
          ports: env.cloud.ports,
          cloudStream: env.cloudStream,
        });
      },
    );
  },
});
