// cloudcore keeps hearing the apiserver past its first minute. The test apiserver ends every watch after
// 5-10 s, so by minute 3 each of cloudcore's watches has ended 20 times or more; a new pod, a ConfigMap
// change, a Device's desired value and a pod delete must then reach the box (its SQLite store, read through
// the MetaServer, and its MQTT broker) within 2 s. Then the apiserver is killed for 20 s while objects change
// through a second apiserver, and etcd is killed and restarted: cloudcore, never restarted, delivers within
// 10 s of their return, and /readyz names the watches while they are down.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { joinEdge, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { mosquittoSub, type Subscriber } from "./harness/mqtt_clients.ts";

const NODE = "edge-long";
const MINUTES_BEFORE_CHANGES = Number(Deno.env.get("KEDGE_LIFETIME_MINUTES") ?? "3");
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number) {
  const started = Date.now();
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await wait(25);
  }
}

const pod = (name: string, image: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: ${NODE}
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${image}
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts: [{name: config, mountPath: /config}]
  volumes:
  - name: config
    configMap: {name: app-config}
`;

const DEVICE = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: meter, namespace: default}
spec:
  protocol: modbus
  properties:
  - {name: level, type: INT, accessMode: ReadWrite}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: meter-1, namespace: default}
spec:
  deviceModelRef: {name: meter}
  nodeName: ${NODE}
  protocol: {protocolName: modbus}
  properties:
  - name: level
    desired: {value: "10"}
`;

interface BoxObject {
  metadata?: { deletionTimestamp?: string };
  data?: Record<string, string>;
}

const desiredPatch = (value: string) =>
  `[{"op":"replace","path":"/spec/properties/0/desired/value","value":"${value}"}]`;

Deno.test("cloudcore keeps hearing the apiserver: minutes of watch expiries, an apiserver and an etcd restart", async (t) => {
  await using cp = await startControlPlane();
  const kubectl = kubectlFor(cp.kubeconfigPath);
  const rt = await startTestRuntime("lifetime");
  const run = await createRunDir("lifetime");
  const stops: Array<() => Promise<void>> = [];
  let delta: Subscriber | undefined;
  try {
    const cloud = await startCloud(run, cp);
    const cloudStarted = Date.now();
    stops.push(() => cloud.stop());
    let cloudExited = false;
    cloud.status.then(() => cloudExited = true);
    const joined = await joinEdge(run, cloud, NODE, (config) => {
      config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
      config.modules!.edged!.podSandboxImage = rt.images.pause;
    });
    const edge = await startEdge(run, joined);
    stops.push(() => edge.stop());
    await edge.waitForLog("connected to cloudcore", 30_000);
    const edgeConfig = parse(await Deno.readTextFile(joined.configFile));
    const meta = `http://${edgeConfig.modules.metaManager.metaServer.server}`;
    const mqttPort = Number(/:(\d+)$/.exec(edgeConfig.modules.eventBus.mqttServerInternal)![1]);

    /** The object as the box's store holds it (MetaServer), or undefined. */
    const onBox = async (path: string): Promise<BoxObject | undefined> => {
      const res = await fetch(`${meta}${path}`);
      if (res.status !== 200) return void await res.body?.cancel();
      return await res.json();
    };
    const podOnBox = (name: string) => onBox(`/api/v1/namespaces/default/pods/${name}`);
    const configOnBox = async (value: string) =>
      (await onBox("/api/v1/namespaces/default/configmaps/app-config"))?.data?.value === value;
    const deletedOnBox = async (name: string) => {
      const p = await podOnBox(name);
      return p === undefined || p.metadata?.deletionTimestamp !== undefined;
    };
    const deltaOnBox = (value: string, timeoutMs: number) =>
      delta!.next((m) => JSON.parse(m.payload).delta?.level === value, timeoutMs);
    const cloudMetrics = async () =>
      await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/metrics`)).text();
    const readyz = async () => {
      const out = await new Deno.Command("curl", {
        args: ["-sk", "-w", "\n%{http_code}", `https://127.0.0.1:${cloud.ports.https}/readyz`],
        stdout: "piped",
        stderr: "null",
      }).output();
      const [body = "", code = ""] = new TextDecoder().decode(out.stdout).split("\n");
      return { code: Number(code), body };
    };

    const setUp = await t.step(
      "setup: a pod that stays, a pod to delete, a ConfigMap and a Device on the edge",
      async () => {
        // No controller-manager here: the ServiceAccount it would make, made by hand.
        await kubectl(["create", "serviceaccount", "default"]);
        await kubectl(["create", "configmap", "app-config", "--from-literal=value=v1"]);
        await kubectl(
          ["apply", "-f", "-"],
          pod("keep", rt.images.busybox) + "---" + pod("doomed", rt.images.busybox),
        );
        await kubectl(["apply", "-f", "-"], DEVICE);
        delta = await mosquittoSub(mqttPort, ["$hw/events/device/default/meter-1/twin/update/delta"], {
          record: (pid) => run.record(pid),
        });
        await until(
          "both pods on the box",
          async () => (await podOnBox("keep")) && (await podOnBox("doomed")),
          30_000,
        );
        await until("pod keep Running", async () => {
          const phase = await kubectl(["get", "pod", "keep", "-o", "jsonpath={.status.phase}"]);
          return phase === "Running";
        }, 60_000);
      },
    );
    if (!setUp) return;

    await t.step(
      `${MINUTES_BEFORE_CHANGES} minutes after cloudcore started, each change reaches the box within 2 s`,
      async () => {
        await wait(cloudStarted + MINUTES_BEFORE_CHANGES * 60_000 - Date.now());
        const text = await cloudMetrics();
        const closed = Number(
          /kedge_cloud_watch_restarts_total\{resource="pods",reason="closed"\} (\d+)/.exec(text)?.[1] ?? "0",
        );
        assert.ok(
          closed >= 10 * MINUTES_BEFORE_CHANGES / 3,
          `the pod watch was ended by the apiserver ${closed} times`,
        );

        const timings: Record<string, number> = {};
        await kubectl(["apply", "-f", "-"], pod("late", rt.images.busybox));
        timings.pod = (await until("new pod on the box", () => podOnBox("late"), 2_000)).ms;
        await kubectl(["patch", "configmap", "app-config", "-p", '{"data":{"value":"v2"}}']);
        timings.configMap = (await until("ConfigMap v2 on the box", () => configOnBox("v2"), 2_000)).ms;
        let started = Date.now();
        await kubectl(["patch", "device", "meter-1", "--type=json", "-p", desiredPatch("20")]);
        await deltaOnBox("20", 2_000);
        timings.desired = Date.now() - started;
        started = Date.now();
        await kubectl(["delete", "pod", "doomed", "--wait=false"]);
        timings.delete = (await until("delete on the box", () => deletedOnBox("doomed"), 2_000)).ms;
        console.log(
          `after ${MINUTES_BEFORE_CHANGES} min (${closed} pod watch expiries): ${JSON.stringify(timings)} ms`,
        );
      },
    );

    await t.step(
      "apiserver killed for 20 s, changes through a second one meanwhile: on the box within 10 s of its return",
      async () => {
        const killed = Date.now();
        await cp.apiserver.kill();
        const down = await until("/readyz 503 naming the pod watch", async () => {
          const r = await readyz();
          return r.code === 503 && r.body.includes('"watch:pods":false') ? r : undefined;
        }, 10_000);
        console.log(`readyz while the apiserver is down: ${down.value.body}`);
        const second = await cp.startSecondApiserver();
        const other = kubectlFor(second.kubeconfigPath);
        await other(["apply", "-f", "-"], pod("meanwhile", rt.images.busybox));
        await other(["patch", "configmap", "app-config", "-p", '{"data":{"value":"v3"}}']);
        await other(["patch", "device", "meter-1", "--type=json", "-p", desiredPatch("30")]);
        await other(["delete", "pod", "late", "--wait=false"]);
        await second.stop();
        await wait(killed + 20_000 - Date.now());
        await cp.apiserver.start();
        const back = Date.now();
        const deltaSeen = deltaOnBox("30", 10_000);
        await until("pod made meanwhile on the box", () => podOnBox("meanwhile"), 10_000);
        await until("ConfigMap v3 on the box", () => configOnBox("v3"), 10_000 - (Date.now() - back));
        await until(
          "delete made meanwhile on the box",
          () => deletedOnBox("late"),
          10_000 - (Date.now() - back),
        );
        await deltaSeen;
        console.log(
          `everything changed meanwhile was on the box ${Date.now() - back} ms after the apiserver was back`,
        );
        let last = "";
        await until("/readyz 200 again", async () => {
          const r = await readyz();
          last = r.body;
          return r.code === 200;
        }, 10_000).catch((error) => {
          throw new Error(`${error.message}; last: ${last}`);
        });
        assert.equal(cloudExited, false, "cloudcore was not restarted");
      },
    );

    await t.step(
      "etcd killed and restarted: changes after its return reach the box within 10 s",
      async () => {
        await cp.etcd.kill();
        await wait(5_000);
        await cp.etcd.start();
        const back = Date.now();
        const deltaSeen = deltaOnBox("40", 10_000);
        await until("writes accepted again", async () => {
          await kubectl(["patch", "configmap", "app-config", "-p", '{"data":{"value":"v4"}}']);
          return true;
        }, 10_000);
        await kubectl(["apply", "-f", "-"], pod("after-etcd", rt.images.busybox));
        await kubectl(["patch", "device", "meter-1", "--type=json", "-p", desiredPatch("40")]);
        await until("ConfigMap v4 on the box", () => configOnBox("v4"), 10_000 - (Date.now() - back));
        await until("pod after-etcd on the box", () => podOnBox("after-etcd"), 10_000 - (Date.now() - back));
        await deltaSeen;
        console.log(`etcd back: changes on the box ${Date.now() - back} ms after its return`);
        assert.equal(cloudExited, false, "cloudcore was not restarted");
      },
    );
  } finally {
    await delta?.stop();
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await run.remove();
    await rt.stop();
  }
});
