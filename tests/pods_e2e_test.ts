// The product end to end: `kubectl apply` of a Deployment in the cloud, containers on the box through a real
// containerd, status back in the apiserver; the box keeps going with the cloud away, restarts from SQLite,
// and its node is Ready again within 15 s of reconnecting.
import assert from "node:assert/strict";
import { createCriClient } from "../edge/cri/mod.ts";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { exec, waitFor } from "./containerd/pod_helpers.ts";
import { joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { assertPodToken } from "./harness/service_account.ts";

interface PodJson {
  metadata: { name: string; uid: string; resourceVersion: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; containerID?: string; restartCount: number }>;
  };
}

Deno.test("a Deployment on an edge node: apply, run, update, offline autonomy, reconnect, scale to 0", async (t) => {
  await using cp = await startControlPlane({
    controllers: true,
    // A short grace so that the test sees NotReady soon after the lease lapses.
    extraArgs: { controllerManager: ["--node-monitor-grace-period=16s", "--node-monitor-period=2s"] },
  });
  const kubectl = kubectlFor(cp.kubeconfigPath);
  const pods = async (): Promise<PodJson[]> =>
    JSON.parse(await kubectl(["get", "pods", "-l", "app=demo", "-o", "json"])).items;
  const nodeReady = async (): Promise<string> => {
    const node = JSON.parse(await kubectl(["get", "node", "edge-1", "-o", "json"]));
    return node.status?.conditions?.find((c: { type: string }) => c.type === "Ready")?.status ?? "none";
  };
  const rt = await startTestRuntime("e2e");
  const run = await createRunDir("e2e");
  const cri = createCriClient({ endpoint: rt.containerd.endpoint, timeoutMs: 30_000 });
  const stops: Array<() => Promise<void>> = [];
  try {
    let cloud = await startCloud(run, cp);
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, "edge-1", (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
      config.modules!.edged!.nodeStatusUpdateFrequency = 3;
    });
    let edge = await startEdge(run, joined);
    stops.push(() => edge.stop());

    await t.step("the edge registers its Node and it becomes Ready", async () => {
      await waitFor("node Ready", async () => (await nodeReady()) === "True", 60_000, 500);
      const labels = JSON.parse(await kubectl(["get", "node", "edge-1", "-o", "json"])).metadata.labels;
      assert.equal(labels["node-role.kubernetes.io/edge"], "");
      // The kubelet's own labels, which nodeSelectors and the conformance suite select by.
      assert.equal(labels["kubernetes.io/hostname"], "edge-1");
      assert.equal(labels["kubernetes.io/os"], "linux");
      assert.ok(["amd64", "arm64"].includes(labels["kubernetes.io/arch"]), labels["kubernetes.io/arch"]);
    });

    const manifest = (greeting: string) => `
apiVersion: v1
kind: ConfigMap
metadata: {name: demo-config, namespace: default}
data: {greeting.txt: "${greeting}", color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: demo-secret, namespace: default}
stringData: {token: s3cret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      nodeSelector: {node-role.kubernetes.io/edge: ""}
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ${rt.images.busybox}
        command: ["sh", "-c", "exec sleep 3600"]
        env:
        - {name: TOKEN, valueFrom: {secretKeyRef: {name: demo-secret, key: token}}}
        envFrom: [{prefix: CFG_, configMapRef: {name: demo-config}}]
        volumeMounts: [{name: config, mountPath: /etc/demo}, {name: scratch, mountPath: /scratch}]
      volumes:
      - {name: config, configMap: {name: demo-config}}
      - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
`;

    const liveReady = async (n: number): Promise<PodJson[]> =>
      await waitFor(
        `${n} Ready pods`,
        async () => {
          const list = (await pods()).filter((p) => !p.metadata.deletionTimestamp);
          const ready = list.length === n && list.every((p) =>
            p.status?.phase === "Running" &&
            p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
          );
          return ready && list;
        },
        90_000,
        500,
      );
    const idOf = (p: PodJson) =>
      p.status?.containerStatuses?.[0]?.containerID?.replace("containerd://", "") ?? "";
    const runningIds = async () =>
      new Set((await cri.listContainers()).filter((c) => c.state === "CONTAINER_RUNNING").map((c) => c.id));

    await t.step(
      "kubectl apply: every replica Running and Ready; the file, the variable and the pod's own token are right inside",
      async () => {
        await kubectl(["apply", "-f", "-"], manifest("hello edge"));
        for (const pod of await liveReady(3)) {
          assert.equal(await exec(cri, idOf(pod), "cat /etc/demo/greeting.txt"), "hello edge");
          assert.equal(await exec(cri, idOf(pod), 'printf %s "$TOKEN"'), "s3cret");
          // edgecore's own permissions: envFrom, and a memory emptyDir mounted as tmpfs.
          // (busybox's sh drops variables whose names are not shell names, such as CFG_greeting.txt)
          assert.equal(await exec(cri, idOf(pod), 'printf %s "$CFG_color"'), "blue");
          assert.match(
            await exec(cri, idOf(pod), `awk '$2 == "/scratch" { print $3, $4 }' /proc/mounts`),
            /^tmpfs \S*size=8192k/,
          );
          await assertPodToken(kubectl, cri, idOf(pod), { namespace: "default", name: pod.metadata.name });
        }
      },
    );

    await t.step("changing the ConfigMap updates the file on the edge within 60 s", async () => {
      await kubectl(["apply", "-f", "-"], manifest("hello again"));
      const id = idOf((await pods())[0]!);
      await waitFor(
        "new file content",
        async () => (await exec(cri, id, "cat /etc/demo/greeting.txt")) === "hello again",
        60_000,
        500,
      );
    });

    await t.step(
      "an edgecore restart re-sends every pod status: none is written again, and no write of its own echoes back",
      async () => {
        const versions = async () =>
          Object.fromEntries((await pods()).map((p) => [p.metadata.name, p.metadata.resourceVersion]));
        const skipped = async () =>
          (await metric(cloud.ports.metrics, "kedge_cloud_unchanged_writes_skipped_total")) ?? 0;
        const before = await versions();
        const skippedBefore = await skipped();
        await edge.stop();
        edge = await startEdge(run, joined, "edge-1-resent");
        await waitFor(
          "3 re-sent statuses answered from the cache",
          async () => (await skipped()) >= skippedBefore + 3,
          30_000,
          250,
        );
        assert.deepEqual(await versions(), before, "no pod was written");
        const echoes = await metric(cloud.ports.metrics, "kedge_cloud_status_echoes_skipped_total");
        assert.ok((echoes ?? 0) >= 1, `the edge's own status writes were not sent back (${echoes})`);
      },
    );

    let deleted = "";
    let untouched = { name: "", id: "" };
    await t.step(
      "with the cloud away: edgecore restarted keeps every container, and one that exits restarts",
      async () => {
        const [a, b, c] = await liveReady(3);
        untouched = { name: b!.metadata.name, id: idOf(b!) };
        await cloud.stop();
        // Changes made in the cloud meanwhile: one pod deleted, one more replica.
        deleted = a!.metadata.name;
        await kubectl(["delete", "pod", deleted, "--wait=false"]);
        await kubectl(["scale", "deployment", "demo", "--replicas=4"]);
        const before = await runningIds();
        await edge.stop();
        edge = await startEdge(run, joined, "edge-1-restarted");
        await edge.waitForLog("edgecore started");
        await new Promise((r) => setTimeout(r, 4000));
        assert.deepEqual(await runningIds(), before, "the restarted edgecore adopted the running containers");
        const victim = idOf(c!);
        await rt.containerd.ctr(["task", "kill", "-s", "SIGKILL", victim]);
        await waitFor(
          "a replacement container",
          async () => {
            const ids = await runningIds();
            return ids.size === 3 && !ids.has(victim);
          },
          60_000,
          500,
        );
      },
    );

    await t.step(
      "NotReady once the lease lapses; Ready within 15 s of reconnecting; offline changes meet",
      async () => {
        await waitFor("node not Ready", async () => (await nodeReady()) !== "True", 60_000, 500);
        const connects = async () =>
          (await Deno.readTextFile(edge.logFile)).split("\n").filter((l) =>
            l.includes('"connected to cloudcore"')
          )
            .length;
        const before = await connects();
        cloud = await startCloud(run, cp, { name: "cloudcore-back", ports: cloud.ports });
        // The edge dials again after its backoff (jittered, at most 30 s); the 15 s count from the reconnect.
        await waitFor("the edge reconnected", async () => (await connects()) > before, 35_000, 100);
        const reconnected = Date.now();
        await waitFor("node Ready again", async () => (await nodeReady()) === "True", 15_000, 250);
        assert.ok(Date.now() - reconnected <= 15_000);
        const list = await liveReady(4);
        await waitFor(
          "the pod deleted offline gone",
          async () => !(await pods()).some((p) => p.metadata.name === deleted),
          30_000,
          500,
        );
        const kept = list.find((p) => p.metadata.name === untouched.name);
        assert.equal(kept && idOf(kept), untouched.id, "the untouched pod kept its container");
        assert.equal(kept?.status?.containerStatuses?.[0]?.restartCount, 0, "and was never restarted");
        await waitFor(
          "the offline restart in the apiserver",
          async () => (await pods()).some((p) => p.status?.containerStatuses?.[0]?.restartCount === 1),
          30_000,
          500,
        );
        await waitFor("4 running containers", async () => (await runningIds()).size === 4, 30_000, 500);
      },
    );

    await t.step("scaling to 0 removes the pods and their containers", async () => {
      await kubectl(["scale", "deployment", "demo", "--replicas=0"]);
      await waitFor("no pods", async () => (await pods()).length === 0, 60_000, 500);
      await waitFor("no running containers", async () => (await runningIds()).size === 0, 30_000, 500);
    });

    await t.step(
      "a pod for another OS is refused at admission: Failed with PodOSNotSupported, an event, nothing started",
      async () => {
        await kubectl(
          ["apply", "-f", "-"],
          JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "windows-only" },
            spec: {
              nodeName: "edge-1",
              os: { name: "windows" },
              containers: [{ name: "c", image: rt.images.busybox, command: ["sleep", "600"] }],
            },
          }),
        );
        const status = async () =>
          JSON.parse(await kubectl(["get", "pod", "windows-only", "-o", "jsonpath={.status}"]) || "{}");
        await waitFor("the pod Failed", async () => (await status()).phase === "Failed", 30_000, 250);
        const failed = await status();
        assert.equal(failed.reason, "PodOSNotSupported");
        assert.equal(
          failed.message,
          "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS",
        );
        assert.equal((await runningIds()).size, 0, "no container started");
        await waitFor(
          "the Warning event",
          async () =>
            (await kubectl([
              "get",
              "events",
              "--field-selector",
              "reason=PodOSNotSupported",
              "-o",
              "name",
            ])) !== "",
          15_000,
          250,
        );
        await kubectl(["delete", "pod", "windows-only", "--wait=true", "--timeout=30s"]);
      },
    );

    await t.step("kubectl delete node: the edge removes its pods", async () => {
      await kubectl(["scale", "deployment", "demo", "--replicas=1"]);
      await liveReady(1).catch(async (error) => {
        const state = await kubectl(["get", "pods,nodes", "-o", "wide"]);
        const node = await kubectl(["get", "node", "edge-1", "-o", "jsonpath={.spec.taints}"]);
        throw new Error(`${error.message}\n${state}\ntaints: ${node}`);
      });
      await kubectl(["delete", "node", "edge-1"]);

      await waitFor("containers removed", async () => (await runningIds()).size === 0, 60_000, 500);
    });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    cri.close();
    await rt.stop();
    await run.remove();
  }
});
