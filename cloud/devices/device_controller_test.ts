// The device controller against a real apiserver: CRDs installed, deliveries it queues for edge nodes,
// node authorization of reports, and at most one Device.status write per device per second.
import assert from "node:assert/strict";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { createLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/metrics.ts";
import { type Message, newMessage } from "../../lib/protocol/mod.ts";
import type { Delivery } from "../controllers/mod.ts";
import { startControlPlane } from "../../tests/cluster/mod.ts";
import { createDeviceController, installDeviceCrds } from "./mod.ts";

type WireTwins = Record<string, { expected?: { value: string }; metadata?: { type: string } }>;
interface Content {
  added_devices?: Array<{ id: string; twin: WireTwins }>;
  removed_devices?: Array<{ id: string; name: string }>;
  devices?: Array<{ id: string }>;
  twin?: WireTwins;
}
const content = (message: Message) => message.content as Content;
const quiet = createLogger({ level: "error", write: () => {} });
const G = { group: "devices.kubeedge.io", version: "v1beta1", namespace: "default" };

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sample(registry: Registry, series: string): number {
  const line = registry.render().split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

const report = (name: string, value: string) =>
  newMessage({
    source: "twin",
    group: "resource",
    operation: "update",
    resource: `device/default/${name}/twin/edge_updated`,
    content: {
      event_id: crypto.randomUUID(),
      timestamp: Date.now(),
      twin: {
        temperature: { actual: { value, metadata: { timestamp: Date.now() } }, metadata: { type: "int" } },
      },
    },
  });

Deno.test("device controller: deliveries, node authorization, coalesced status writes", async (t) => {
  await using cp = await startControlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const api = kc.makeApiClient(CustomObjectsApi);
  const sent: Array<{ node: string; item: Delivery }> = [];
  const registry = new Registry();
  const controller = createDeviceController({
    kubeConfig: kc,
    downstream: { send: (node, item) => void sent.push({ node, item }) },
    log: quiet,
    registry,
  });
  const getDevice = async () =>
    await api.getNamespacedCustomObject({ ...G, plural: "devices", name: "thermo" }) as {
      metadata: { uid: string };
      status?: { twins?: Array<{ propertyName: string; reported?: { value: string } }> };
    };
  try {
    await t.step("installDeviceCrds creates both CRDs and may run again", async () => {
      await installDeviceCrds(kc);
      await installDeviceCrds(kc);
      await controller.start();
    });

    let uid = "";
    await t.step("a Device bound to a node sends it a membership with typed desired twins", async () => {
      await api.createNamespacedCustomObject({
        ...G,
        plural: "devicemodels",
        body: {
          apiVersion: "devices.kubeedge.io/v1beta1",
          kind: "DeviceModel",
          metadata: { name: "thermometer" },
          spec: { protocol: "modbus", properties: [{ name: "temperature", type: "INT" }] },
        },
      });
      const created = await api.createNamespacedCustomObject({
        ...G,
        plural: "devices",
        body: {
          apiVersion: "devices.kubeedge.io/v1beta1",
          kind: "Device",
          metadata: { name: "thermo" },
          spec: {
            deviceModelRef: { name: "thermometer" },
            nodeName: "node-a",
            properties: [{ name: "temperature", desired: { value: "20" } }],
          },
        },
      }) as { metadata: { uid: string } };
      uid = created.metadata.uid;
      const { node, item } = await until(
        "membership",
        () => sent.find((s) => s.item.uid === `${uid}/membership`),
      );
      assert.equal(node, "node-a");
      assert.equal(item.message.route.operation, "updated");
      assert.equal(item.message.route.resource, "membership");
      const added = content(item.message).added_devices!;
      assert.equal(added[0]!.id, "default/thermo");
      assert.deepEqual(added[0]!.twin.temperature!.metadata, { type: "int" });
      assert.equal(added[0]!.twin.temperature!.expected!.value, "20");
    });

    await t.step("a desired change goes as twin/cloud_updated keyed by the device uid", async () => {
      sent.length = 0;
      await api.patchNamespacedCustomObject({
        ...G,
        plural: "devices",
        name: "thermo",
        body: [{ op: "replace", path: "/spec/properties/0/desired/value", value: "25" }],
      });
      const { item } = await until("desired", () => sent.find((s) => s.item.uid === uid));
      assert.equal(item.message.route.resource, "device/default/thermo/twin/cloud_updated");
      assert.equal(content(item.message).twin!.temperature!.expected!.value, "25");
      assert.ok(!sent.some((s) => s.item.uid === `${uid}/membership`), "no membership for a desired change");
    });

    await t.step("node-b may not report node-a's device: error, denied metric, nothing written", async () => {
      const reply = await controller.handleEdgeMessage("node-b", report("thermo", "99"));
      assert.equal(reply?.route.operation, "error");
      assert.match(String(reply?.content), /not bound to node node-b/);
      assert.equal(
        sample(
          registry,
          'kedge_cloud_device_denied_requests_total{operation="update",reason="device_not_bound"}',
        ),
        1,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await getDevice()).status?.twins, undefined);
    });

    await t.step("a burst of 20 reports costs at most two status writes and ends at the latest", async () => {
      // Sent together: each is acknowledged once the write holding it succeeded (the first alone, the
      // other 19 in the next write an interval later).
      const replies: (Message | undefined)[] = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => controller.handleEdgeMessage("node-a", report("thermo", String(i + 1))),
        ),
      );
      for (const reply of replies) {
        assert.equal(reply?.route.operation, "response");
        assert.equal(reply?.content, "OK");
      }
      const deadline = Date.now() + 3_000;
      let value: string | undefined;
      while (Date.now() < deadline && value !== "20") {
        value = (await getDevice()).status?.twins?.find((tw) => tw.propertyName === "temperature")?.reported
          ?.value;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(value, "20");
      assert.equal(sample(registry, 'kedge_cloud_device_status_writes_total{result="ok"}'), 2);
      assert.equal(sample(registry, "kedge_cloud_device_reports_coalesced_total"), 19);
    });

    await t.step(
      "a connect queues the node's whole membership; a move removes it from the old node",
      async () => {
        sent.length = 0;
        controller.onEdgeConnected("node-a");
        const detail = await until(
          "detail",
          () => sent.find((s) => s.item.uid === "membership-detail/node-a"),
        );
        assert.equal(detail.item.message.route.resource, "membership/detail");
        assert.deepEqual(
          content(detail.item.message).devices!.map((d) => d.id),
          [
            "default/thermo",
          ],
        );
        sent.length = 0;
        await api.patchNamespacedCustomObject({
          ...G,
          plural: "devices",
          name: "thermo",
          body: [{ op: "replace", path: "/spec/nodeName", value: "node-b" }],
        });
        const removal = await until("removal", () => sent.find((s) => s.node === "node-a"));
        assert.equal(removal.item.isDelete, true);
        assert.deepEqual(content(removal.item.message).removed_devices, [{
          id: "default/thermo",
          name: "thermo",
        }]);
        await until("add on node-b", () => sent.find((s) => s.node === "node-b" && !s.item.isDelete));
      },
    );
  } finally {
    await controller.stop();
  }
});
