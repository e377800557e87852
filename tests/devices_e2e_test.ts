// Devices end to end, as a user runs them: cloudcore installs the Device CRDs, `kubectl apply` of a
// DeviceModel and a Device bound to a joined edgecore, KubeEdge-format MQTT traffic with the real mosquitto
// clients on the edge's built-in broker, Device.status in the apiserver; the cloud away and an edgecore
// restart lose no reported value.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { mosquittoPub, mosquittoSub, type Subscriber } from "./harness/mqtt_clients.ts";

const NODE = "edge-dev";
const DEVICE = (name: string) => `$hw/events/device/default/${name}`;
const MEMBERSHIP = `$hw/events/node/${NODE}/membership`;

interface DeviceJson {
  metadata: { uid: string };
  status?: {
    twins?: Array<{ propertyName: string; reported?: { value: string; metadata?: Record<string, string> } }>;
  };
}

const manifest = (name: string, desired: string) => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: ${name}, namespace: default}
spec:
  deviceModelRef: {name: thermometer}
  nodeName: ${NODE}
  protocol: {protocolName: modbus}
  properties:
  - name: temperature
    desired: {value: "${desired}"}
  - name: unit
`;

const MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: thermometer, namespace: default}
spec:
  protocol: modbus
  properties:
  - {name: temperature, type: INT, accessMode: ReadWrite}
  - {name: unit, type: STRING, accessMode: ReadOnly}
`;

async function waitFor<T>(what: string, check: () => Promise<T | false>, timeoutMs: number, everyMs = 50) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

Deno.test("devices: membership, reported twins to Device.status, desired twins to the box, removal, offline", async (t) => {
  await using cp = await startControlPlane();
  const kubectl = kubectlFor(cp.kubeconfigPath);
  const device = async (name: string): Promise<DeviceJson> =>
    JSON.parse(await kubectl(["get", "device", name, "-n", "default", "-o", "json"]));
  const reported = async (name: string, prop: string) =>
    (await device(name)).status?.twins?.find((tw) => tw.propertyName === prop)?.reported?.value;

  const run = await createRunDir("devices");
  const record = (pid: number) => run.record(pid);
  const stops: Array<() => Promise<void>> = [];
  const subs: Subscriber[] = [];
  try {
    let cloud = await startCloud(run, cp);
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, NODE);
    const port = Number(
      /:(\d+)$/.exec(
        parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal,
      )![1],
    );
    let edge = await startEdge(run, joined);
    stops.push(() => edge.stop());
    await edge.waitForLog("connected to cloudcore", 30_000);
    const sub = async (filters: string[]) => {
      const s = await mosquittoSub(port, filters, { record });
      subs.push(s);
      return s;
    };
    const pub = (topic: string, body: unknown) => mosquittoPub(port, topic, JSON.stringify(body), { record });
    const twinUpdate = (value: string) => ({
      event_id: crypto.randomUUID(),
      timestamp: Date.now(),
      twin: { temperature: { actual: { value }, metadata: { type: "int" } } },
    });

    await t.step(
      "cloudcore installs the CRDs; a Device bound to the edge is in its membership/get",
      async () => {
        await kubectl(
          ["apply", "-f", "-"],
          MODEL + "---" + manifest("thermo-1", "20") + "---" + manifest("thermo-2", "20"),
        );
        const s = await sub([`${MEMBERSHIP}/get/result`]);
        const { value } = await waitFor(
          "membership with both devices",
          async () => {
            await pub(`${MEMBERSHIP}/get`, { event_id: "m1" });
            const found = await s.next(
              (m) => m.payload.includes("thermo-1") && m.payload.includes("thermo-2"),
              300,
            )
              .catch(() => undefined);
            return found ?? false;
          },
          20_000,
          0,
        );
        const devices = JSON.parse(value.payload).devices as Array<
          { id: string; twin: Record<string, { expected: { value: string }; metadata: { type: string } }> }
        >;
        const thermo = devices.find((d) => d.id === "default/thermo-1")!;
        assert.equal(thermo.twin.temperature!.expected.value, "20");
        assert.equal(thermo.twin.temperature!.metadata.type, "int");
      },
    );

    await t.step(
      "a reported value published with mosquitto_pub is in Device.status.twins within 2 s",
      async () => {
        const started = Date.now();
        const out = await pub(`${DEVICE("thermo-1")}/twin/update`, twinUpdate("21"));
        assert.equal(out.code, 0, out.stderr);
        await waitFor("reported 21", async () => (await reported("thermo-1", "temperature")) === "21", 2_000);
        const status = (await device("thermo-1")).status!;
        const twin = status.twins!.find((tw) => tw.propertyName === "temperature")!;
        assert.match(twin.reported!.metadata!.timestamp!, /^\d+$/);
        console.log(`reported -> Device.status: ${Date.now() - started} ms`);
        assert.ok(((await metric(cloud.ports.metrics, "kedge_cloud_device_status_writes_total")) ?? 0) >= 1);
      },
    );

    await t.step(
      "kubectl patch of a desired value reaches twin/update/delta on the box within 2 s",
      async () => {
        const s = await sub([`${DEVICE("thermo-1")}/twin/update/delta`]);
        const started = Date.now();
        await kubectl([
          "patch",
          "device",
          "thermo-1",
          "--type=json",
          "-p",
          '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]',
        ]);
        const delta = await s.next((m) => JSON.parse(m.payload).delta?.temperature === "25", 2_000);
        console.log(`desired -> delta on the box: ${Date.now() - started} ms`);
        assert.equal(JSON.parse(delta.payload).twin.temperature.actual.value, "21");
      },
    );

    await t.step("deleting the Device publishes membership/updated with it in removed_devices", async () => {
      const s = await sub([`${MEMBERSHIP}/updated`]);
      await kubectl(["delete", "device", "thermo-1", "-n", "default", "--wait=false"]);
      const m = await s.next(
        (m) =>
          (JSON.parse(m.payload).removed_devices ?? []).some((d: { id: string }) =>
            d.id === "default/thermo-1"
          ),
        5_000,
      );
      assert.deepEqual(JSON.parse(m.payload).added_devices, []);
    });

    await t.step(
      "with the cloud away the latest reported value is kept, across an edgecore restart",
      async () => {
        await cloud.stop();
        const s = await sub([`${DEVICE("thermo-2")}/twin/update/result`]);
        for (const value of ["30", "31"]) {
          assert.equal((await pub(`${DEVICE("thermo-2")}/twin/update`, twinUpdate(value))).code, 0);
        }
        await s.next((m) => m.payload.includes('"31"'), 5_000);
        await edge.stop();
        edge = await startEdge(run, joined, `${NODE}-restarted`);
        const g = await waitFor(
          "twin/get after the restart",
          async () => {
            const gs = await mosquittoSub(port, [`${DEVICE("thermo-2")}/twin/get/result`], { record }).catch(
              () => undefined,
            );
            if (!gs) return false;
            subs.push(gs);
            await pub(`${DEVICE("thermo-2")}/twin/get`, { event_id: "g1" });
            return (await gs.next(() => true, 1_000).catch(() => undefined)) ?? false;
          },
          20_000,
          200,
        );
        const twin = JSON.parse(g.value.payload).twin;
        assert.equal(twin.temperature.actual.value, "31");
        assert.equal(twin.temperature.expected.value, "20");
        assert.notEqual(await reported("thermo-2", "temperature"), "31");

        cloud = await startCloud(run, cp, { name: "cloudcore-back", ports: cloud.ports });
        const back = Date.now();
        await waitFor(
          "reported 31 after the cloud is back",
          async () => (await reported("thermo-2", "temperature")) === "31",
          30_000,
          200,
        );
        console.log(`cloud back -> Device.status: ${Date.now() - back} ms`);
      },
    );

    await t.step(
      "a report cloudcore held for its status write when it was killed (SIGKILL) is sent again, not lost",
      async () => {
        // 40 is written at once; 41, a moment later, waits for the next write an interval on. cloudcore dies
        // before that write: 41 was never acknowledged, so the edge still holds it and sends it again.
        assert.equal((await pub(`${DEVICE("thermo-2")}/twin/update`, twinUpdate("40"))).code, 0);
        await waitFor(
          "reported 40",
          async () => (await reported("thermo-2", "temperature")) === "40",
          5_000,
          50,
        );
        assert.equal((await pub(`${DEVICE("thermo-2")}/twin/update`, twinUpdate("41"))).code, 0);
        await new Promise((r) => setTimeout(r, 300));
        Deno.kill(cloud.pid, "SIGKILL");
        await cloud.status;
        assert.equal(await reported("thermo-2", "temperature"), "40", "41 was not written before the kill");
        cloud = await startCloud(run, cp, { name: "cloudcore-after-kill", ports: cloud.ports });
        await waitFor(
          "reported 41 after cloudcore is back",
          async () => (await reported("thermo-2", "temperature")) === "41",
          30_000,
          200,
        );
      },
    );
  } finally {
    for (const s of subs) await s.stop();
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await run.remove();
  }
});
