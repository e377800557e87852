// Device twins over MQTT with the real mosquitto clients, against the built-in broker (mode 0) and against
// a real mosquitto (mode 2): the twin flows of KubeEdge's mappers and apps, end to end through SQLite.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../lib/log.ts";
import { EdgeStore } from "../edge/store/mod.ts";
import { type EventBus, type MqttMode, startEventBus } from "../edge/bus/mod.ts";
import { mosquittoPub, mosquittoSub, startMosquitto } from "./harness/mqtt_clients.ts";
import { type DeviceTwin, startDeviceTwin, type TwinReport } from "../edge/twin/mod.ts";
import { createRunDir, freePort } from "./cluster/processes.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const NODE = "edge-1";
const DEVICE = "$hw/events/device/default/thermo-1";
const MAX_PAYLOAD = 4096;

interface Env {
  port: number;
  bus: EventBus;
  store: EdgeStore;
  twin: DeviceTwin;
  reports: TwinReport[];
  dbPath: string;
  record: (pid: number) => void;
}

async function startTwin(env: Pick<Env, "bus" | "reports">, dbPath: string) {
  const store = new EdgeStore(dbPath, quiet);
  const twin = await startDeviceTwin({
    database: store.database,
    bus: env.bus,
    node: NODE,
    log: quiet,
    onReport: (report) => env.reports.push(report),
    limits: { maxPayloadBytes: MAX_PAYLOAD },
  });
  return { store, twin };
}

function twinFlows(mode: MqttMode) {
  return async (t: Deno.TestContext) => {
    const run = await createRunDir("twin-mqtt");
    const record = (pid: number) => run.record(pid);
    const mosquitto = mode === 2
      ? await startMosquitto({ dir: run.path, port: freePort(), record })
      : undefined;
    const bus = await startEventBus({
      mode,
      internalUrl: "tcp://127.0.0.1:0",
      externalUrl: `tcp://127.0.0.1:${mosquitto?.port ?? 1}`,
      qos: 1,
      log: quiet,
    });
    const port = mosquitto?.port ?? bus.brokerAddress!.port;
    const reports: TwinReport[] = [];
    const dbPath = join(run.path, "edgecore.db");
    const env: Env = { port, bus, reports, dbPath, record, ...(await startTwin({ bus, reports }, dbPath)) };
    const sub = (filters: string[]) => mosquittoSub(port, filters, { record });
    const pub = (topic: string, payload: string | Uint8Array) =>
      mosquittoPub(port, topic, payload, { qos: 1, record });
    try {
      await t.step("applyMembership publishes membership/updated with the added devices", async () => {
        const s = await sub([`$hw/events/node/${NODE}/membership/updated`]);
        try {
          await env.twin.applyMembership([{
            namespace: "default",
            name: "thermo-1",
            twin: { temperature: { expected: { value: "20" }, metadata: { type: "int" } } },
          }, { namespace: "default", name: "gone-1" }], []);
          await env.twin.applyMembership([], ["default/gone-1"]);
          const added = JSON.parse((await s.next((m) => m.payload.includes("thermo-1"))).payload);
          assert.deepEqual(added.added_devices.map((d: { id: string }) => d.id), [
            "default/thermo-1",
            "default/gone-1",
          ]);
          const removed = JSON.parse(
            (await s.next((m) => JSON.parse(m.payload).removed_devices.length > 0)).payload,
          );
          assert.deepEqual(removed.removed_devices.map((d: { id: string }) => d.id), ["default/gone-1"]);
        } finally {
          await s.stop();
        }
      });

      await t.step("membership/get lists the node's devices on membership/get/result", async () => {
        const s = await sub([`$hw/events/node/${NODE}/membership/get/result`]);
        try {
          await pub(
            `$hw/events/node/${NODE}/membership/get`,
            JSON.stringify({ event_id: "m1", timestamp: 1 }),
          );
          const result = JSON.parse((await s.next(() => true)).payload);
          assert.equal(result.event_id, "m1");
          assert.deepEqual(result.devices.map((d: { id: string }) => d.id), ["default/thermo-1"]);
          assert.equal(result.devices[0].twin.temperature.expected.value, "20");
        } finally {
          await s.stop();
        }
      });

      await t.step(
        "a twin/update with an actual value is stored, answered and reported via onReport",
        async () => {
          const s = await sub([`${DEVICE}/twin/update/result`, `${DEVICE}/twin/update/document`]);
          try {
            await pub(
              `${DEVICE}/twin/update`,
              JSON.stringify({
                event_id: "u1",
                timestamp: Date.now(),
                twin: { temperature: { actual: { value: "21", metadata: { timestamp: Date.now() } } } },
              }),
            );
            const result = JSON.parse((await s.next((m) => m.topic.endsWith("/result"))).payload);
            assert.equal(result.event_id, "u1");
            assert.equal(result.twin.temperature.actual.value, "21");
            const doc = JSON.parse((await s.next((m) => m.topic.endsWith("/document"))).payload);
            assert.equal(doc.twin.temperature.last.actual, undefined);
            assert.equal(doc.twin.temperature.current.actual.value, "21");
            assert.equal(env.twin.twins("default/thermo-1")?.temperature?.actual?.value, "21");
            const report = env.reports.at(-1)!;
            assert.equal(report.resource, "device/default/thermo-1/twin/edge_updated");
            assert.equal(report.content.twin.temperature?.actual?.value, "21");
            assert.equal(report.content.event_id, "u1");
          } finally {
            await s.stop();
          }
        },
      );

      await t.step("applyDesired publishes twin/update/delta with the new expected value", async () => {
        const s = await sub([`${DEVICE}/twin/update/delta`]);
        try {
          await env.twin.applyDesired("default/thermo-1", { temperature: { expected: { value: "25" } } });
          const delta = JSON.parse((await s.next(() => true)).payload);
          assert.deepEqual(delta.delta, { temperature: "25" });
          assert.equal(delta.twin.temperature.actual.value, "21");
          assert.deepEqual(delta.twin.temperature.expected_version, { cloud: 2, edge: 0 });
        } finally {
          await s.stop();
        }
      });

      await t.step("twin/get answers on twin/get/result with the stored twin", async () => {
        const s = await sub([`${DEVICE}/twin/get/result`]);
        try {
          await pub(`${DEVICE}/twin/get`, JSON.stringify({ event_id: "g1", timestamp: 1 }));
          const result = JSON.parse((await s.next(() => true)).payload);
          assert.equal(result.event_id, "g1");
          assert.equal(result.twin.temperature.expected.value, "25");
          assert.equal(result.twin.temperature.actual.value, "21");
        } finally {
          await s.stop();
        }
      });

      await t.step("state/update is stored and answered on state/update/result", async () => {
        const s = await sub([`${DEVICE}/state/update/result`]);
        try {
          await pub(
            `${DEVICE}/state/update`,
            JSON.stringify({ event_id: "s1", timestamp: 1, state: "online" }),
          );
          const result = JSON.parse((await s.next(() => true)).payload);
          assert.equal(result.device.state, "online");
          assert.equal(env.twin.devices()[0]?.state, "online");
        } finally {
          await s.stop();
        }
      });

      await t.step(
        "a malformed twin/update gets {code, reason} on update/result and nothing is stored",
        async () => {
          const s = await sub([`$hw/events/device/+/+/twin/update/result`]);
          const before = JSON.stringify(env.twin.twins("default/thermo-1"));
          const reportsBefore = env.reports.length;
          const cases: Array<[string, string | Uint8Array, number]> = [
            [`${DEVICE}/twin/update`, "{not json", 400],
            [
              `${DEVICE}/twin/update`,
              JSON.stringify({ event_id: "b2", twin: { temperature: { actual: { value: 22 } } } }),
              400,
            ],
            [
              `${DEVICE}/twin/update`,
              JSON.stringify({ event_id: "b3", twin: { temperature: { actual: { value: "warm" } } } }),
              400,
            ],
            [
              `$hw/events/device/default/nobody/twin/update`,
              JSON.stringify({ event_id: "b4", twin: {} }),
              404,
            ],
            [
              `${DEVICE}/twin/update`,
              JSON.stringify({ twin: { temperature: { actual: { value: "1".repeat(MAX_PAYLOAD) } } } }),
              413,
            ],
          ];
          try {
            for (const [topic, payload, code] of cases) {
              const seen = s.received.length;
              await pub(topic, payload);
              const answer = await s.next((m) => s.received.indexOf(m) >= seen);
              const body = JSON.parse(answer.payload);
              assert.equal(body.code, code, `${String(payload).slice(0, 40)} -> ${answer.payload}`);
              assert.match(body.reason, /^Cannot /);
              assert.equal(typeof body.timestamp, "number");
              assert.equal(body.twin, undefined);
            }
            assert.equal(JSON.stringify(env.twin.twins("default/thermo-1")), before);
            assert.equal(env.reports.length, reportsBefore);
          } finally {
            await s.stop();
          }
        },
      );

      await t.step("twins and unacknowledged reports survive closing and reopening the store", async () => {
        const before = env.twin.twins("default/thermo-1");
        assert.equal(env.twin.pendingReports().length, 1);
        await env.twin.close();
        env.store.close();
        Object.assign(env, await startTwin(env, dbPath));
        assert.deepEqual(env.twin.twins("default/thermo-1"), before);
        const [pending] = env.twin.pendingReports();
        assert.equal(pending?.content.twin.temperature?.actual?.value, "21");
        env.twin.ackReport(pending!);
        assert.deepEqual(env.twin.pendingReports(), []);
        const s = await sub([`${DEVICE}/twin/get/result`]);
        try {
          await pub(`${DEVICE}/twin/get`, JSON.stringify({ event_id: "g2" }));
          assert.equal(JSON.parse((await s.next(() => true)).payload).twin.temperature.actual.value, "21");
        } finally {
          await s.stop();
        }
      });
    } finally {
      await env.twin.close();
      env.store.close();
      await bus.close();
      await mosquitto?.stop();
      await run.remove();
    }
  };
}

Deno.test("device twins over MQTT through the built-in broker (mode 0)", twinFlows(0));
Deno.test("device twins over MQTT through an external mosquitto (mode 2)", twinFlows(2));

Deno.test("a newer report replaces an older one and an ack of the older keeps the newer", async () => {
  const run = await createRunDir("twin-reports");
  const published: string[] = [];
  const store = new EdgeStore(join(run.path, "edgecore.db"), quiet);
  const handlers = new Map<string, (topic: string, payload: Uint8Array) => void>();
  const bus = {
    subscribe: (filter: string, handler: (topic: string, payload: Uint8Array) => void) => {
      handlers.set(filter, handler);
      return Promise.resolve(() => Promise.resolve());
    },
    publish: (topic: string) => {
      published.push(topic);
      return Promise.resolve();
    },
  };
  const reports: TwinReport[] = [];
  const twin = await startDeviceTwin({
    database: store.database,
    bus,
    node: NODE,
    log: quiet,
    onReport: (r) => reports.push(r),
  });
  try {
    await twin.applyMembership([{ namespace: "default", name: "thermo-1" }], []);
    const update = handlers.get("$hw/events/device/+/+/twin/update")!;
    const send = (value: string) =>
      update(
        `${DEVICE}/twin/update`,
        new TextEncoder().encode(JSON.stringify({ twin: { t: { actual: { value } } } })),
      );
    send("1");
    send("2");
    await twin.applyDesired("default/thermo-1", {}); // runs after both updates: the queue is serial
    assert.equal(reports.length, 2);
    twin.ackReport(reports[0]!);
    assert.equal(twin.pendingReports()[0]?.content.twin.t?.actual?.value, "2");
    twin.ackReport(reports[1]!);
    assert.deepEqual(twin.pendingReports(), []);
  } finally {
    await twin.close();
    store.close();
    await run.remove();
  }
});
