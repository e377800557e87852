// Devices in direction 1 of KubeEdge compatibility, against the real peer: a KubeEdge v1.23.1 edgecore (its
// device twin and DMI server on, its own built-in MQTT broker) on kedge's cloudcore, with a real mapper
// (KubeEdge's mapper-framework `_template`, tests/mapper/build.sh) registered on KubeEdge's DMI socket.
// `kubectl apply` of a DeviceModel and a Device bound to the KubeEdge node: kedge's cloud sends its membership
// and the Device and DeviceModel objects as KubeEdge's cloud does; KubeEdge's edge hands them to the mapper;
// the mapper's reports, and a twin update published on KubeEdge's MQTT broker, reach Device.status; a desired
// value reaches the mapper. Skipped, with the build script's one-line reason, where no snapshot exists.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { startTestRuntime } from "./containerd/mod.ts";
import { getToken, startCloud } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { mosquittoPub } from "./harness/mqtt_clients.ts";
import { kubeEdgeBinaries } from "./kubeedge/cloud.ts";
import { startKubeEdgeEdge } from "./kubeedge/edge.ts";
import { mapperBinary, startMapper } from "./mapper/mapper.ts";
import { VIRTUAL_MODEL, virtualDevice, waitFor } from "./mapper/manifests.ts";

const NODE = "kubeedge-dmi-on-kedge";
const bins = await kubeEdgeBinaries();
const mapper = await mapperBinary();
const missing = "missing" in bins ? bins.missing : "missing" in mapper ? mapper.missing : undefined;
if (missing) console.log(`skipping the KubeEdge edgecore device tests: ${missing}`);

interface DeviceJson {
  status?: { state?: string; twins?: Array<{ propertyName: string; reported?: { value: string } }> };
}

Deno.test({
  name:
    "a real KubeEdge edgecore with a DMI mapper on kedge's cloudcore: device in, reports to Device.status, desired",
  ignore: missing !== undefined,
  async fn(t) {
    if ("missing" in bins || "missing" in mapper) return;
    await using cp = await startControlPlane();
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("kubeedge-devices");
    const run = await createRunDir("kubeedge-devices");
    const stops: Array<() => Promise<void>> = [];
    try {
      const cloud = await startCloud(run, cp);
      stops.push(() => cloud.stop());
      const token = await getToken(cloud);
      const mqttPort = freePort();
      let dmiDir = "";
      const edge = await startKubeEdgeEdge(run, bins, { ...cloud.ports, token }, rt, NODE, {
        overrides: (m, dir) => {
          dmiDir = join(dir, "dmi");
          m.eventBus = {
            ...m.eventBus,
            enable: true,
            mqttMode: 0,
            mqttServerInternal: `tcp://127.0.0.1:${mqttPort}`,
          };
          m.deviceTwin = { ...m.deviceTwin, enable: true, dmiSockPath: dmiDir };
        },
      });
      stops.push(() => edge.stop());
      await waitFor(
        "KubeEdge's DMI socket",
        () => Deno.stat(join(dmiDir, "dmi.sock")).then(() => true, () => false),
        60_000,
      );
      const virtual = await startMapper(run, mapper.binary, {
        name: "virtual-mapper",
        protocol: "virtual",
        edgecoreSock: join(dmiDir, "dmi.sock"),
      });
      stops.push(() => virtual.stop());
      const device = async (): Promise<DeviceJson> =>
        JSON.parse(await kubectl(["get", "device", "thermo", "-o", "json"]));
      const reported = async (prop: string) =>
        (await device()).status?.twins?.find((tw) => tw.propertyName === prop)?.reported?.value;

      await t.step(
        "kedge's cloud sends the Device and its model as KubeEdge's does; the mapper gets it",
        async () => {
          await waitFor(
            "node registered",
            () => kubectl(["get", "node", NODE]).then(() => true, () => false),
            90_000,
          );
          await kubectl(["apply", "-f", "-"], VIRTUAL_MODEL);
          await kubectl(["apply", "-f", "-"], virtualDevice(NODE, "5"));
          const got = await waitFor(
            "device on the mapper",
            () => virtual.read("default", "thermo", "target"),
            30_000,
          );
          console.log(`apply -> device on the mapper through KubeEdge's edge: ${got.ms} ms`);
          assert.equal(got.value, "5");
        },
      );

      await t.step("the mapper's reports reach Device.status through KubeEdge's edge", async () => {
        const got = await waitFor(
          "reported temperature",
          async () => Number(await reported("temperature")) > 20 || false,
          30_000,
        );
        console.log(`reports -> Device.status through KubeEdge's edge: ${got.ms} ms`);
      });

      await t.step("a twin update on KubeEdge's own MQTT broker reaches Device.status", async () => {
        const twinUpdate = JSON.stringify({
          event_id: "e1",
          timestamp: Date.now(),
          twin: { humidity: { actual: { value: "77" }, metadata: { type: "int" } } },
        });
        await waitFor(
          "humidity 77 in Device.status",
          async () => {
            await mosquittoPub(mqttPort, "$hw/events/device/default/thermo/twin/update", twinUpdate);
            return (await reported("humidity")) === "77";
          },
          30_000,
        );
      });

      await t.step(
        "a desired value patched with kubectl reaches the mapper through KubeEdge's edge",
        async () => {
          await kubectl([
            "patch",
            "device",
            "thermo",
            "--type=json",
            "-p",
            `[{"op":"replace","path":"/spec/properties/1/desired/value","value":"42"}]`,
          ]);
          const got = await waitFor(
            "desired 42 on the mapper",
            async () => (await virtual.read("default", "thermo", "target")) === "42",
            30_000,
          );
          console.log(`desired patch -> mapper through KubeEdge's edge: ${got.ms} ms`);
        },
      );
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await run.remove();
      await rt.stop();
    }
  },
});
