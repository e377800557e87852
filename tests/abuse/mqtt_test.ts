/**
 * Abuse of edgecore's built-in MQTT broker (edge/bus), each beside three honest publisher/subscriber pairs
 * of real mosquitto clients whose messages must all arrive within a second (tests/abuse/honest_mqtt.ts):
 * oversize packets, 10,000 topics for one client, a subscriber that never reads, and attempts to get past
 * the ACL. The test broker allows 256 KiB packets and 1 MiB unread per client (defaults 1 MiB and 8 MiB).
 * Figures are logged; docs/security.md quotes them.
 */
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { delay, waitFor } from "../../cloud/hub/test_util.ts";
import { mosquittoPub, mosquittoSub } from "../harness/mqtt_clients.ts";
import {
  ADMIN,
  APP,
  assertMqttWithstood,
  DEV_A,
  DEV_B,
  type MqttAttack,
  TEST_LIMITS,
  underMqttAttack,
} from "./honest_mqtt.ts";
import { lyingPublishHeader, openRawMqtt, publishPacket, subscribePacket } from "./raw_mqtt.ts";
import { MiB } from "./resources.ts";

/** Peak RSS growth allowed during an attack, the honest clients' output read here included (seen: +48 MiB). */
const RSS_BOUND = 64 * MiB;
/** The same for the slow reader: 8 MB of flood pass through this process twice (publisher and subscriber). */
const FLOOD_RSS_BOUND = 96 * MiB;

function connect(port: number, who: { username: string; password: string }, clientId: string) {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { ...who, clientId, reconnectPeriod: 0 });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The SUBACK's code for each filter (128: refused); mqtt.js rejects the whole call when one is 128. */
async function subscribeCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters)).map((g) => g.qos);
  } catch (error) {
    const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw error;
    return granted;
  }
}

/** Sends `bytes` on a fresh connection of `who`; resolves with how long the broker took to close it. */
async function closedAfter(
  a: MqttAttack,
  who: { username: string; password: string },
  bytes: Uint8Array,
): Promise<number> {
  const raw = await openRawMqtt(a.port, `raw-${crypto.randomUUID().slice(0, 8)}`, who);
  const start = performance.now();
  void raw.write(bytes);
  const read = await raw.readToEnd(3_000);
  return read < 0 ? -1 : Math.round(performance.now() - start);
}

Deno.test("an oversize packet closes only its own connection, from its header; one at the limit is delivered", async () => {
  const limit = TEST_LIMITS.maxPacketBytes;
  const closedMs: Record<string, number> = {};
  const report = await underMqttAttack(async (a) => {
    const sub = await mosquittoSub(a.port, ["big/#"], { ...APP, record: a.record });
    try {
      const atLimit = await openRawMqtt(a.port, "at-limit", APP);
      await atLimit.write(publishPacket("big/at-limit", { size: limit }));
      await sub.next((m) => m.topic === "big/at-limit", 5_000);
      atLimit.close();
      const padding = new Uint8Array(1024);
      const cases: Record<string, Uint8Array> = {
        "one byte over": publishPacket("big/over", { size: limit + 1 }),
        "claims 256 MiB, sends 1 KiB": Uint8Array.from([...lyingPublishHeader(268_435_455), ...padding]),
        "a 5-byte length": Uint8Array.of(0x30, 0xff, 0xff, 0xff, 0xff, 0x01),
        "10,000 filters in one SUBSCRIBE": subscribePacket(
          1,
          Array.from({ length: 10_000 }, (_, i) => `big/${"x".repeat(20)}/${i}`),
        ),
      };
      for (const [what, bytes] of Object.entries(cases)) {
        closedMs[what] = await closedAfter(a, APP, bytes);
        assert.ok(closedMs[what]! >= 0, `${what}: the connection is still open`);
      }
      const big = await mosquittoPub(a.port, "big/mosquitto", "x".repeat(limit), {
        ...APP,
        qos: 1,
        record: a.record,
      });
      assert.notEqual(big.code, 0, "mosquitto_pub over the limit lost its connection before PUBACK");
      assert.equal(a.rejected("packet-size"), Object.keys(cases).length + 1);
      await delay(200);
      assert.deepEqual(sub.received.map((m) => m.topic), ["big/at-limit"]);
    } finally {
      await sub.stop();
    }
  });
  console.log(`oversize packets: closed after ${JSON.stringify(closedMs)} ms`);
  assertMqttWithstood("oversize packets", report, RSS_BOUND);
});

Deno.test("10,000 topics for one client: 100 granted, the rest refused in SUBACK, the session kept", async () => {
  const TOPICS = 10_000;
  const topics = Array.from({ length: TOPICS }, (_, i) => `many/${i}`);
  const figures: string[] = [];
  const report = await underMqttAttack(async (a) => {
    const [onePacket, manyPackets] = await Promise.all([
      openRawMqtt(a.port, "one-packet", APP),
      openRawMqtt(a.port, "many-packets", APP),
    ]);
    try {
      let start = performance.now();
      await onePacket.write(subscribePacket(1, topics));
      // SUBACK: type, a 2-byte length, the packet id, one code per filter.
      const codes = (await onePacket.read(1 + 2 + 2 + TOPICS, 5_000)).subarray(5);
      figures.push(`one SUBACK for ${TOPICS} filters after ${Math.round(performance.now() - start)} ms`);
      assert.deepEqual(topics.filter((_, i) => codes[i] !== 0x80), topics.slice(0, 100));
      start = performance.now();
      await manyPackets.write(concat(topics.map((t, i) => subscribePacket(i + 1, [`more/${t}`]))));
      const acks = await manyPackets.read(5 * TOPICS, 5_000);
      figures.push(`${TOPICS} SUBACKs after ${Math.round(performance.now() - start)} ms`);
      const granted = Array.from({ length: TOPICS }, (_, i) => acks[5 * i + 4]).filter((c) => c !== 0x80);
      assert.equal(granted.length, 100);
      assert.equal(a.rejected("subscriptions"), 2 * (TOPICS - 100));
      // Still connected, still subscribed to what was granted: of these two, only many/0 comes back.
      await a.bus.publish("many/9999", "refused");
      await a.bus.publish("many/0", "granted");
      const expected = publishPacket("many/0", "granted");
      assert.deepEqual(await onePacket.read(expected.length), expected);
    } finally {
      onePacket.close();
      manyPackets.close();
    }
  });
  console.log(`10,000 topics: ${figures.join("; ")}`);
  // The broker's one thread spends 0.2-1.5 s on 19,800 refused subscriptions, each counted and logged;
  // everything else waits meanwhile. Bounded, not free: docs/security.md.
  assertMqttWithstood("10,000 topics", report, RSS_BOUND, 3_000);
});

Deno.test("a subscriber that never reads is dropped at maxQueuedBytesPerClient; subscribers of the same topic miss nothing", async () => {
  const FLOOD = 8_000;
  let figures = "";
  const report = await underMqttAttack(async (a) => {
    const slow = await openRawMqtt(a.port, "slow-reader", APP);
    const floodSub = await mosquittoSub(a.port, ["flood/#"], { ...APP, record: a.record });
    try {
      await slow.write(subscribePacket(1, ["flood/#", "honest/#"]));
      assert.deepEqual([...await slow.read(6)], [0x90, 4, 0, 1, 0, 0], "SUBACK");
      // From here on the slow subscriber reads nothing.
      const publisher = new Deno.Command("mosquitto_pub", {
        args: ["-h", "127.0.0.1", "-p", String(a.port), "-u", APP.username, "-P", APP.password, "-q", "1"]
          .concat(["-t", "flood/x", "-l"]),
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      a.record(publisher.pid);
      const start = performance.now();
      const lines = Array.from({ length: FLOOD }, (_, i) => `${i} ${"x".repeat(1017)}\n`).join("");
      const stdin = publisher.stdin.getWriter();
      const published = stdin.write(new TextEncoder().encode(lines)).then(() => stdin.close());
      const deadline = start + 15_000;
      while (floodSub.received.length < FLOOD && performance.now() < deadline) await delay(20);
      const floodMs = Math.round(performance.now() - start);
      if (floodSub.received.length < FLOOD) publisher.kill("SIGKILL");
      await published.catch(() => {});
      await publisher.status;
      assert.equal(
        floodSub.received.length,
        FLOOD,
        `flood messages at the honest subscriber after ${floodMs} ms`,
      );
      assert.equal(a.rejected("slow-consumer"), 1);
      const unread = await slow.readToEnd(5_000);
      assert.ok(unread >= 0, "the slow subscriber's connection is still open");
      figures = `${FLOOD} messages of 1 KiB to a subscriber that never reads and an honest one: all at the ` +
        `honest one after ${floodMs} ms; the slow one dropped once it left over 1 MiB unread, ` +
        `${(unread / MiB).toFixed(1)} MiB of it then in kernel buffers`;
    } finally {
      slow.close();
      await floodSub.stop();
    }
  });
  console.log(`slow reader: ${figures}`);
  assertMqttWithstood("slow reader", report, FLOOD_RSS_BOUND);
});

Deno.test("ACL bypass attempts (wildcards, another device's $hw topics, +/#, $share) reach nothing", async () => {
  const devB = "$hw/events/device/default/dev-b";
  const devAFilters = [
    "#",
    "+/#",
    "$hw/#",
    "$hw/events/device/#",
    "$hw/events/device/+/+/twin/update",
    "$hw/events/device/default/+/#",
    `${devB}/#`,
    "$hw/events/node/#",
    `$share/g/${devB}/#`,
  ];
  // Granted (they name no device or node topic) but nothing of a device or node is ever forwarded on them.
  const appGranted = [
    "#",
    "+/#",
    "$hw/#",
    "$hw/+/device/#",
    "$hw/events/+/default/dev-b/#",
    "$share/g/$hw/#",
  ];
  const appRefused = ["$hw/events/device/#", `${devB}/twin/update`, "$hw/events/node/#"];
  const forged = [
    { who: DEV_A, topic: `${devB}/twin/update` },
    { who: APP, topic: `${devB}/twin/update` },
    { who: DEV_A, topic: "$hw/events/node/edge-1/membership/get" },
  ];
  const report = await underMqttAttack(async (a) => {
    const clients: MqttClient[] = [];
    const handlerSaw: string[] = [];
    const unsubscribe = await a.bus.subscribe(
      "$hw/events/device/+/+/twin/update",
      (_topic, payload) => handlerSaw.push(new TextDecoder().decode(payload)),
    );
    const owner = await mosquittoSub(a.port, [`${devB}/#`], {
      ...DEV_B,
      record: a.record,
      probeTopic: `${devB}/probe`,
    });
    try {
      const admin = await connect(a.port, ADMIN, "admin");
      clients.push(admin);
      // Retained before the attackers subscribe: a wildcard must not fetch it either.
      await admin.publishAsync(`${devB}/twin/update/document`, "retained", { qos: 1, retain: true });
      const [devA, app] = await Promise.all([
        connect(a.port, DEV_A, "dev-a"),
        connect(a.port, APP, "app-acl"),
      ]);
      clients.push(devA, app);
      const seen: string[] = [];
      devA.on("message", (topic) => seen.push(`dev-a ${topic}`));
      app.on("message", (topic) => topic.startsWith("$") && seen.push(`app ${topic}`));
      const refusedBy = async (client: MqttClient, filters: string[]) => {
        const codes = await subscribeCodes(client, filters);
        return filters.filter((_, i) => codes[i] === 128);
      };
      assert.deepEqual(await refusedBy(devA, devAFilters), devAFilters);
      assert.deepEqual(await refusedBy(app, [...appGranted, ...appRefused]), appRefused);
      // Traffic of dev-b and of the node, from edgecore, the admin and dev-b itself.
      await a.bus.publish(`${devB}/twin/update/delta`, "from-edgecore");
      await admin.publishAsync(`${devB}/twin/update`, "from-admin", { qos: 1 });
      await admin.publishAsync("$hw/events/node/edge-1/membership/updated", "{}", { qos: 1 });
      await mosquittoPub(a.port, `${devB}/twin/update`, "from-dev-b", { ...DEV_B, qos: 1, record: a.record });
      // Publishing across the line drops the publisher; so does a wildcard in a topic name.
      for (const { who, topic } of forged) {
        assert.ok(
          await closedAfter(a, who, publishPacket(topic, "forged")) >= 0,
          `${who.username} -> ${topic}`,
        );
      }
      assert.ok(
        await closedAfter(a, DEV_A, publishPacket("$hw/events/device/default/+/twin/update", "forged")) >= 0,
      );
      const viaMosquitto = await mosquittoPub(a.port, `${devB}/twin/update`, "forged", {
        ...APP,
        qos: 1,
        record: a.record,
      });
      assert.notEqual(viaMosquitto.code, 0);
      await waitFor(() => owner.received.length >= 4, 3_000, "dev-b's own traffic at dev-b");
      await delay(300);
      assert.deepEqual(owner.received.map((m) => m.payload).sort(), [
        "from-admin",
        "from-dev-b",
        "from-edgecore",
        "retained",
      ]);
      assert.deepEqual(seen, [], "a device or node message reached dev-a or the app");
      assert.deepEqual(handlerSaw.sort(), ["from-admin", "from-dev-b"]);
      assert.equal(a.rejected("acl"), devAFilters.length + appRefused.length + forged.length + 1);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await owner.stop();
      await unsubscribe();
    }
  });
  console.log(
    `ACL: dev-a refused ${devAFilters.length} filters, the app ${appRefused.length}; ` +
      `${appGranted.length} app wildcards granted and given no device or node message; ` +
      `${forged.length + 2} forged publishes dropped their connections`,
  );
  assertMqttWithstood("ACL bypass", report, RSS_BOUND);
});
