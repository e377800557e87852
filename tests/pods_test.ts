// Pod manager on a real containerd: a pod with an init container, two containers and a configMap volume;
// env from ConfigMap, Secret and the downward API; volume updates; static pods from a manifests folder.
import assert from "node:assert/strict";
import { join } from "node:path";
import { staticPodSource } from "../edge/pods/mod.ts";
import { createLogger } from "../lib/log.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import {
  containerId,
  exec,
  memoryObjects,
  startTestManager,
  testPod,
  waitFor,
} from "./containerd/pod_helpers.ts";

Deno.test("pod manager runs pods on containerd", async (t) => {
  const rt = await startTestRuntime("pods");
  try {
    await t.step(
      "a pod with an init container, two containers and a configMap volume runs; files and env are visible inside",
      async () => {
        const objects = memoryObjects();
        objects.setConfigMap("default", "app-config", {
          data: { "greeting.txt": "hello from configmap\n", mode: "fast" },
        });
        objects.setSecret("default", "app-secret", { data: { token: btoa("s3cret") } });
        const tm = await startTestManager(rt, { objects });
        try {
          const pod = testPod("web", {
            initContainers: [{
              name: "prepare",
              image: rt.images.busybox,
              command: ["sh", "-c", "echo initialized > /work/init.txt"],
              volumeMounts: [{ name: "work", mountPath: "/work" }],
            }],
            containers: [
              {
                name: "app",
                image: rt.images.busybox,
                command: ["sh", "-c", "exec sleep 3600"],
                workingDir: "/work",
                env: [
                  { name: "LITERAL", value: "plain" },
                  { name: "MODE", valueFrom: { configMapKeyRef: { name: "app-config", key: "mode" } } },
                  { name: "TOKEN", valueFrom: { secretKeyRef: { name: "app-secret", key: "token" } } },
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "COMBINED", value: "$(LITERAL)-$(MODE)" },
                  {
                    name: "CPU_MILLIS",
                    valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } },
                  },
                ],
                envFrom: [
                  { configMapRef: { name: "app-config" }, prefix: "CFG_" },
                  { secretRef: { name: "app-secret" } },
                  { configMapRef: { name: "absent", optional: true } },
                ],
                resources: { limits: { memory: "64Mi", cpu: "500m" } },
                volumeMounts: [
                  { name: "config", mountPath: "/etc/config", readOnly: true },
                  { name: "work", mountPath: "/work" },
                  { name: "info", mountPath: "/etc/podinfo" },
                  { name: "mem", mountPath: "/mem" },
                ],
              },
              { name: "sidecar", image: rt.images.busybox, command: ["sleep", "3600"] },
            ],
            volumes: [
              { name: "config", configMap: { name: "app-config", defaultMode: 0o440 } },
              { name: "work", emptyDir: {} },
              { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
              {
                name: "info",
                projected: {
                  sources: [{
                    downwardAPI: {
                      items: [
                        { path: "name", fieldRef: { fieldPath: "metadata.name" } },
                        {
                          path: "mem_limit",
                          resourceFieldRef: {
                            containerName: "app",
                            resource: "limits.memory",
                            divisor: "1Mi",
                          },
                        },
                      ],
                    },
                  }],
                },
              },
            ],
          });
          const uid = pod.metadata.uid ?? "";
          tm.manager.handle({ op: "add", pod });
          const status = await waitFor("pod Ready", () => {
            const s = tm.manager.status(uid);
            return s?.conditions.find((c) => c.type === "Ready")?.status === "True" && s;
          });
          assert.equal(status.phase, "Running");
          for (const type of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
            assert.equal(status.conditions.find((c) => c.type === type)?.status, "True", type);
          }
          assert.match(status.podIP ?? "", /^10\./);
          assert.ok(status.startTime);
          assert.equal(status.initContainerStatuses?.[0]?.state.terminated?.exitCode, 0);
          assert.equal(status.initContainerStatuses?.[0]?.state.terminated?.reason, "Completed");
          for (const c of status.containerStatuses) {
            assert.ok(c.state.running, `${c.name} running`);
            assert.equal(c.restartCount, 0);
            assert.match(c.containerID ?? "", /^containerd:\/\/[0-9a-f]{64}$/);
            assert.match(c.imageID, /@sha256:[0-9a-f]{64}$/);
            assert.equal(c.image, rt.images.busybox);
          }
          const app = containerId(status, "app") ?? "";
          assert.equal(await exec(tm.cri, app, "cat /etc/config/greeting.txt"), "hello from configmap\n");
          assert.equal(await exec(tm.cri, app, "stat -L -c %a /etc/config/greeting.txt"), "440\n");
          assert.equal(await exec(tm.cri, app, "cat /work/init.txt; pwd"), "initialized\n/work\n");
          assert.equal(
            await exec(tm.cri, app, 'echo "$LITERAL $MODE $TOKEN $POD_NAME $COMBINED $CPU_MILLIS"'),
            "plain fast s3cret web plain-fast 500\n",
          );
          assert.equal(await exec(tm.cri, app, "cat /etc/podinfo/name"), "web");
          assert.equal(
            await exec(tm.cri, app, "cat /etc/podinfo/mem_limit"),
            "64",
            "the downward API's limit in Mi",
          );
          assert.equal(
            await exec(tm.cri, app, 'echo "$CFG_mode $token"'),
            "fast s3cret\n",
            "envFrom, with a prefix",
          );
          // medium Memory: a tmpfs of the sizeLimit, as the kubelet mounts it.
          assert.match(
            await exec(tm.cri, app, `awk '$2 == "/mem" { print $3, $4 }' /proc/mounts`),
            /^tmpfs \S*size=16384k/,
          );
          assert.equal(
            (await exec(tm.cri, app, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")).trim(),
            String(64 * 1024 * 1024),
          );

          objects.setConfigMap("default", "app-config", {
            data: { "greeting.txt": "updated\n", mode: "fast" },
          });
          await waitFor(
            "updated configMap file",
            async () => (await exec(tm.cri, app, "cat /etc/config/greeting.txt")) === "updated\n",
          );
          assert.equal(containerId(tm.manager.status(uid), "app"), app, "a volume update restarts nothing");

          tm.manager.handle({
            op: "delete",
            pod: { ...pod, spec: { ...pod.spec, terminationGracePeriodSeconds: 0 } },
          });
          await waitFor("pod removed", () => tm.statuses.removed.has(uid));
          const mounts = await Deno.readTextFile("/proc/self/mountinfo");
          assert.ok(!mounts.includes(uid), "the pod's memory volume was unmounted with it");
          assert.equal(
            (await tm.cri.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } })).length,
            0,
          );
        } finally {
          await tm.stop();
        }
      },
    );

    await t.step(
      "a host-network pod runs without a pod IP of its own and a static pod comes from a manifests folder",
      async () => {
        const manifests = join(rt.run.path, "manifests");
        await Deno.mkdir(manifests, { recursive: true });
        await Deno.writeTextFile(
          join(manifests, "static.yaml"),
          `apiVersion: v1
kind: Pod
metadata:
  name: static-web
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${rt.images.busybox}
      command: ["sleep", "3600"]
`,
        );
        await Deno.writeTextFile(join(manifests, "broken.yaml"), "metadata: {name: broken}\nspec: {}\n");
        const log = createLogger({ level: "error" });
        const tm = await startTestManager(rt, {
          sources: [staticPodSource({ path: manifests, nodeName: "edge-test", log, pollMs: 200 })],
        });
        try {
          const pod = await waitFor(
            "static pod",
            () => tm.manager.pods().find((p) => p.metadata.name === "static-web-edge-test"),
          );
          const uid = pod.metadata.uid ?? "";
          const status = await waitFor(
            "static pod running",
            () => tm.manager.status(uid)?.phase === "Running" && tm.manager.status(uid),
          );
          assert.equal(status.podIP, "127.0.0.1");
          assert.equal(tm.manager.pods().length, 1, "the broken manifest is skipped");
          await Deno.remove(join(manifests, "static.yaml"));
          await waitFor("static pod removed", () => tm.statuses.removed.has(uid), 60_000);
        } finally {
          await tm.stop();
        }
      },
    );
  } finally {
    await rt.stop();
  }
});
