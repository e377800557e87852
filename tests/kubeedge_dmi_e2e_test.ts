// Devices in direction 2 of KubeEdge compatibility, against the real peer: kedge's edgecore joined to a KubeEdge
// v1.23.1 cloudcore (its device controller on, its CRDs from its source tree) with a real mapper (KubeEdge's
// mapper-framework `_template`, tests/mapper/build.sh) on kedge's DMI socket. `kubectl apply` of a DeviceModel
// and a Device bound to kedge's node: KubeEdge's cloud sends its membership and the objects; the mapper gets
// the device; its reports reach KubeEdge's DeviceStatus; a desired value reaches the mapper; a delete removes
// it. Skipped, with the build script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { joinEdge, startEdge } from "./harness/kedge.ts";
import { kubectlFor, runKubectl } from "./harness/kubectl.ts";
import { kubeEdgeBinaries, startKubeEdgeCloud } from "./kubeedge/cloud.ts";
import { mapperBinary, startMapper } from "./mapper/mapper.ts";
import { VIRTUAL_MODEL, virtualDevice, waitFor } from "./mapper/manifests.ts";

const NODE = "kedge-dmi-on-kubeedge";
const bins = await kubeEdgeBinaries();
const mapper = await mapperBinary();
const missing = "missing" in bins ? bins.missing : "missing" in mapper ? mapper.missing : undefined;
if (missing) console.log(`skipping the KubeEdge cloudcore DMI tests: ${missing}`);

Deno.test({
  name:
    "kedge edgecore with a DMI mapper on a real KubeEdge cloudcore: device in, reports to DeviceStatus, desired, delete",
  ignore: missing !== undefined,
  async fn(t) {
    if ("missing" in bins || "missing" in mapper) return;
    await using cp = await startControlPlane();
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const run = await createRunDir("kubeedge-dmi");
    const stops: Array<() => Promise<void>> = [];
    try {
      const cloud = await startKubeEdgeCloud(run, cp, bins, { deviceController: true });
      stops.push(() => cloud.stop());
      const joined = await joinEdge(run, cloud, NODE);
      const config = parse(await Deno.readTextFile(joined.configFile));
      const edge = await startEdge(run, joined);
      stops.push(() => edge.stop());
      await edge.waitForLog("connected to cloudcore", 60_000);
      const virtual = await startMapper(run, mapper.binary, {
        name: "virtual-mapper",
        protocol: "virtual",
        edgecoreSock: join(config.modules.deviceTwin.dmiSockPath, "dmi.sock"),
      });
      stops.push(() => virtual.stop());
      await edge.waitForLog("dmi mapper registered");

      const reported = async (prop: string) => {
        const out = await runKubectl([
          "--kubeconfig",
          cp.kubeconfigPath,
          "get",
          "devicestatus",
          "thermo",
          "-o",
          "json",
        ]);
        if (out.code !== 0) return undefined;
        const status = JSON.parse(out.stdout).status as {
          twins?: Array<{ propertyName: string; reported?: { value: string } }>;
        };
        return status?.twins?.find((tw) => tw.propertyName === prop)?.reported?.value;
      };

      await t.step("KubeEdge's cloud sends the Device and its model; the mapper gets it", async () => {
        await kubectl(["apply", "-f", "-"], VIRTUAL_MODEL);
        await kubectl(["apply", "-f", "-"], virtualDevice(NODE, "5"));
        const got = await waitFor(
          "device on the mapper",
          () => virtual.read("default", "thermo", "target"),
          20_000,
        );
        console.log(`apply -> device on the mapper through KubeEdge's cloud: ${got.ms} ms`);
        assert.equal(got.value, "5");
      });

      await t.step("the mapper's reports reach KubeEdge's DeviceStatus", async () => {
        const got = await waitFor(
          "reported temperature in the DeviceStatus",
          async () => Number(await reported("temperature")) > 20 || false,
          20_000,
        );
        console.log(`reports -> DeviceStatus: ${got.ms} ms`);
      });

      await t.step("a desired value patched with kubectl reaches the mapper", async () => {
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
          20_000,
        );
        console.log(`desired patch -> mapper through KubeEdge's cloud: ${got.ms} ms`);
      });

      await t.step("Device deleted -> RemoveDevice on the mapper", async () => {
        await kubectl(["delete", "device", "thermo"]);
        await waitFor(
          "device gone from the mapper",
          async () => (await virtual.read("default", "thermo", "target")) === undefined,
          20_000,
        );
      });
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await run.remove();
    }
  },
});
