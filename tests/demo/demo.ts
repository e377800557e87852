// `make demo`: the main job on this machine. A real control plane, containerd with locally built images,
// cloudcore, an edgecore joined with a token, a pod applied with kubectl running on the edge, and a device
// whose twin a real MQTT client updates on the box; then everything stops. DEMO_HOLD=1 keeps it running
// until Ctrl-C, with the kubeconfig path printed.
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "../cluster/mod.ts";
import { startTestRuntime } from "../containerd/mod.ts";
import { waitFor } from "../containerd/pod_helpers.ts";
import { joinEdge, startCloud, startEdge } from "../harness/kedge.ts";
import { kubectlFor } from "../harness/kubectl.ts";
import { mosquittoPub } from "../harness/mqtt_clients.ts";

const say = (text: string) => console.log(`demo: ${text}`);

say("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built from k8s.io/kubernetes)");
await using cp = await startControlPlane({ controllers: true });
const kubectl = kubectlFor(cp.kubeconfigPath);
say(`control plane ready at ${cp.server}`);
say("starting containerd with its own root, and a local registry with busybox and pause built here");
const rt = await startTestRuntime("demo");
const run = await createRunDir("demo");
const stops: Array<() => Promise<void>> = [];
try {
  const cloud = await startCloud(run, cp);
  stops.push(() => cloud.stop());
  say(
    `cloudcore ready: edges on 127.0.0.1:${cloud.ports.websocket}, join and health on https://127.0.0.1:${cloud.ports.https}`,
  );
  const joined = await joinEdge(run, cloud, "demo-edge-1", (config) => {
    config.modules!.edged!.containerRuntimeEndpoint = rt.containerd.endpoint;
    config.modules!.edged!.podSandboxImage = rt.images.pause;
  });
  say("edgecore joined with a token from `cloudcore gettoken` (CA pinned, certificate issued)");
  const edge = await startEdge(run, joined);
  stops.push(() => edge.stop());
  await edge.waitForLog("connected to cloudcore", 30_000);
  await waitFor(
    "node Ready",
    async () =>
      (await kubectl([
        "get",
        "node",
        "demo-edge-1",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ])) ===
        "True",
    60_000,
    500,
  );
  say(`kubectl get nodes:\n${await kubectl(["get", "nodes", "-o", "wide"])}`);

  await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: v1
kind: Pod
metadata: {name: hello, namespace: default}
spec:
  nodeSelector: {node-role.kubernetes.io/edge: ""}
  containers:
  - {name: hello, image: "${rt.images.busybox}", command: ["sh", "-c", "echo hello from the edge; exec sleep 3600"]}
`,
  );
  await waitFor(
    "pod Running",
    async () => (await kubectl(["get", "pod", "hello", "-o", "jsonpath={.status.phase}"])) === "Running",
    90_000,
    500,
  );
  say(`kubectl get pods:\n${await kubectl(["get", "pods", "-o", "wide"])}`);

  {
    // A device bound to the edge; a real MQTT client on the box reports its temperature.
    await kubectl(
      ["apply", "-f", "-"],
      `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: thermometer, namespace: default}
spec:
  protocol: modbus
  properties: [{name: temperature, type: INT, accessMode: ReadOnly}]
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo-1, namespace: default}
spec:
  deviceModelRef: {name: thermometer}
  nodeName: demo-edge-1
  protocol: {protocolName: modbus}
  properties: [{name: temperature, reportToCloud: true}]
`,
    );
    const mqttPort = Number(
      String(parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal).split(":")
        .pop(),
    );
    const topic = "$hw/events/device/default/thermo-1/twin/update";
    const reported = async () =>
      await kubectl(["get", "device", "thermo-1", "-o", "jsonpath={.status.twins[0].reported.value}"]);
    await waitFor(
      "device reported",
      async () => {
        await mosquittoPub(
          mqttPort,
          topic,
          JSON.stringify({
            event_id: crypto.randomUUID(),
            timestamp: Date.now(),
            twin: { temperature: { actual: { value: "21" }, metadata: { type: "int" } } },
          }),
        );
        return (await reported()) === "21";
      },
      60_000,
      1000,
    );
    say(
      `mosquitto_pub on the box set thermo-1's temperature; the apiserver shows reported value ${await reported()}`,
    );
  }
  if (Deno.env.get("DEMO_HOLD") === "1") {
    say(`holding: export KUBECONFIG=${cp.kubeconfigPath}; Ctrl-C stops everything`);
    await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", () => resolve()));
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await rt.stop();
  await run.remove();
}
say("done: everything stopped and removed");
