// The EventBus with the real mosquitto clients: limits, auth and ACL of the built-in broker, upload
// forwarding and cloud publishes, in mode 0 (built-in), mode 2 (external mosquitto) and mode 1 (both).
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { createLogger } from "../lib/log.ts";
import { type EventBus, startEventBus } from "../edge/bus/mod.ts";
import { mosquittoPub, mosquittoSub, startMosquitto } from "./harness/mqtt_clients.ts";
import { createRunDir, freePort } from "./cluster/processes.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const ADMIN = { username: "edgecore", password: "admin-pw" };
const DEV_A = { username: "default/dev-a", password: "a-pw" };
const APP = { username: "app", password: "app-pw" };
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds or fails after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${ms} ms`);
    await wait(20);
  }
}

Deno.test("built-in broker (mode 0)", async (t) => {
  const run = await createRunDir("eventbus");
  const record = (pid: number) => run.record(pid);
  const upstream: Array<[string, string]> = [];
  const bus: EventBus = await startEventBus({
    mode: 0,
    internalUrl: "tcp://127.0.0.1:0",
    externalUrl: "tcp://127.0.0.1:1",
    qos: 0,
    log: quiet,
    limits: { maxPacketBytes: 16 * 1024, maxConnections: 8 },
    auth: {
      users: {
        [ADMIN.username]: ADMIN.password,
        [DEV_A.username]: DEV_A.password,
        [APP.username]: APP.password,
      },
      admins: [ADMIN.username],
      acl: true,
    },
    upstream: (topic, payload) => upstream.push([topic, decode(payload)]),
  });
  const port = bus.brokerAddress!.port;
  try {
    await t.step("upload topics reach the upstream callback and device topics do not", async () => {
      await mosquittoPub(port, "SYS/dis/upload_records", "r1", { ...APP, qos: 1, record });
      await mosquittoPub(port, "app1/user/temperature", "r2", { ...APP, qos: 1, record });
      await mosquittoPub(port, "$hw/events/upload/metrics", "r3", { ...ADMIN, qos: 1, record });
      await mosquittoPub(port, "$hw/events/device/default/dev-a/twin/update", "{}", {
        ...DEV_A,
        qos: 1,
        record,
      });
      await eventually(() => upstream.length >= 3, "three upstream messages");
      await wait(100);
      assert.deepEqual(upstream.sort(), [
        ["$hw/events/upload/metrics", "r3"],
        ["SYS/dis/upload_records", "r1"],
        ["app1/user/temperature", "r2"],
      ]);
    });

    await t.step("publishFromCloud reaches box subscribers and is not forwarded back upstream", async () => {
      upstream.length = 0;
      const sub = await mosquittoSub(port, ["app1/user/command"], { ...APP, record });
      try {
        await bus.publishFromCloud("app1/user/command", "from-cloud");
        assert.equal((await sub.next(() => true)).payload, "from-cloud");
        await wait(100);
        assert.deepEqual(upstream, []);
      } finally {
        await sub.stop();
      }
    });

    await t.step(
      "an oversize packet disconnects that client while another client keeps working",
      async () => {
        const sub = await mosquittoSub(port, ["big/#"], { ...ADMIN, record });
        try {
          const big = await mosquittoPub(port, "big/one", "x".repeat(20 * 1024), {
            ...ADMIN,
            qos: 1,
            record,
          });
          assert.notEqual(big.code, 0, "the oversize publisher lost its connection before PUBACK");
          const small = await mosquittoPub(port, "big/two", "still-here", { ...ADMIN, qos: 1, record });
          assert.equal(small.code, 0);
          assert.equal((await sub.next(() => true)).topic, "big/two");
          assert.deepEqual(sub.received.map((m) => m.topic), ["big/two"]);
        } finally {
          await sub.stop();
        }
      },
    );

    await t.step(
      "a device client cannot publish another device's twin: no handler or subscriber sees it",
      async () => {
        const seen: string[] = [];
        const unsubscribe = await bus.subscribe(
          "$hw/events/device/+/+/twin/update",
          (topic) => seen.push(topic),
        );
        const sub = await mosquittoSub(port, ["$hw/events/device/#"], { ...ADMIN, record });
        try {
          const denied = await mosquittoPub(port, "$hw/events/device/default/dev-b/twin/update", "{}", {
            ...DEV_A,
            qos: 1,
            record,
          });
          assert.notEqual(denied.code, 0, "the broker dropped the publisher");
          const allowed = await mosquittoPub(port, "$hw/events/device/default/dev-a/twin/update", "{}", {
            ...DEV_A,
            qos: 1,
            record,
          });
          assert.equal(allowed.code, 0);
          await sub.next((m) => m.topic.includes("dev-a"));
          await eventually(() => seen.length === 1, "the allowed update at the handler");
          assert.deepEqual(seen, ["$hw/events/device/default/dev-a/twin/update"]);
          assert.deepEqual(sub.received.map((m) => m.topic), ["$hw/events/device/default/dev-a/twin/update"]);
        } finally {
          await sub.stop();
          await unsubscribe();
        }
      },
    );

    await t.step("a device client receives only its own device's messages", async () => {
      const sub = await mosquittoSub(port, ["$hw/events/device/default/dev-a/#"], {
        ...DEV_A,
        record,
        probeTopic: "$hw/events/device/default/dev-a/probe",
      });
      try {
        await bus.publish("$hw/events/device/default/dev-b/twin/update/delta", "b");
        await bus.publish("$hw/events/device/default/dev-a/twin/update/delta", "a");
        assert.equal((await sub.next(() => true)).payload, "a");
        await wait(100);
        assert.deepEqual(sub.received.map((m) => m.payload), ["a"]);
      } finally {
        await sub.stop();
      }
    });

    await t.step("a wrong password is refused at CONNECT", async () => {
      const out = await mosquittoPub(port, "app1/user/x", "x", {
        username: "app",
        password: "nope",
        qos: 1,
        record,
      });
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /not authori[sz]ed|bad user name or password/i);
    });

    await t.step("a connection beyond maxConnections is closed while the others stay", async () => {
      const clients = await Promise.all(
        Array.from(
          { length: 8 },
          () => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { ...ADMIN, reconnectPeriod: 0 }),
        ),
      );
      try {
        const extra = await Deno.connect({ hostname: "127.0.0.1", port });
        try {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const tooLate = new Promise<"open">((r) => timer = setTimeout(() => r("open"), 1000));
          const closed = await Promise.race([extra.read(new Uint8Array(16)), tooLate]);
          clearTimeout(timer);
          assert.equal(
            closed,
            null,
            "the ninth connection was closed at once, not after the CONNECT timeout",
          );
        } finally {
          extra.close();
        }
        await clients[0]!.publishAsync("app1/user/x", "ok", { qos: 1 });
      } finally {
        await Promise.all(clients.map((c) => c.endAsync(true)));
      }
    });
  } finally {
    await bus.close();
    await run.remove();
  }
});

Deno.test("external mosquitto (mode 2) and both brokers (mode 1)", async (t) => {
  const run = await createRunDir("eventbus-ext");
  const record = (pid: number) => run.record(pid);
  const mosquitto = await startMosquitto({
    dir: run.path,
    port: freePort(),
    record,
    users: { [ADMIN.username]: ADMIN.password },
  });
  try {
    await t.step(
      "mode 2: edgecore logs in to mosquitto, forwards uploads and publishes cloud messages",
      async () => {
        const upstream: string[] = [];
        const bus = await startEventBus({
          mode: 2,
          internalUrl: "tcp://127.0.0.1:0",
          externalUrl: `tcp://127.0.0.1:${mosquitto.port}`,
          qos: 1,
          ...ADMIN,
          log: quiet,
          upstream: (topic) => upstream.push(topic),
        });
        const sub = await mosquittoSub(mosquitto.port, ["app1/user/#"], { ...ADMIN, record });
        try {
          assert.equal(bus.brokerAddress, undefined, "no built-in broker in mode 2");
          await mosquittoPub(mosquitto.port, "SYS/dis/upload_records", "r", { ...ADMIN, qos: 1, record });
          await eventually(() => upstream.includes("SYS/dis/upload_records"), "the upload upstream");
          await bus.publishFromCloud("app1/user/command", "from-cloud");
          assert.equal((await sub.next(() => true)).payload, "from-cloud");
          await wait(100);
          assert.deepEqual(upstream, ["SYS/dis/upload_records"], "edgecore's own publish did not loop back");
        } finally {
          await sub.stop();
          await bus.close();
        }
      },
    );

    await t.step("mode 1: edgecore subscribes on both brokers and publishes to both", async () => {
      const upstream: string[] = [];
      const bus = await startEventBus({
        mode: 1,
        internalUrl: "tcp://127.0.0.1:0",
        externalUrl: `tcp://127.0.0.1:${mosquitto.port}`,
        qos: 1,
        ...ADMIN,
        log: quiet,
        upstream: (topic) => upstream.push(topic),
      });
      const internal = bus.brokerAddress!.port;
      const subs = await Promise.all([
        mosquittoSub(internal, ["app1/user/#"], { record }),
        mosquittoSub(mosquitto.port, ["app1/user/#"], { ...ADMIN, record }),
      ]);
      try {
        await mosquittoPub(internal, "a/user/internal", "i", { qos: 1, record });
        await mosquittoPub(mosquitto.port, "a/user/external", "e", { ...ADMIN, qos: 1, record });
        await eventually(() => upstream.length === 2, "both uploads upstream");
        assert.deepEqual(upstream.sort(), ["a/user/external", "a/user/internal"]);
        await bus.publish("app1/user/both", "x");
        for (const sub of subs) assert.equal((await sub.next(() => true)).topic, "app1/user/both");
      } finally {
        await Promise.all(subs.map((s) => s.stop()));
        await bus.close();
      }
    });
  } finally {
    await mosquitto.stop();
    await run.remove();
  }
});

Deno.test("mode 2 waits for a late mosquitto with backoff, says when it is back, and renews its subscriptions", async () => {
  const run = await createRunDir("eventbus-late");
  const record = (pid: number) => run.record(pid);
  const port = freePort();
  const records: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: "info", write: (line) => records.push(JSON.parse(line)) });
  const msgs = (msg: string) => records.filter((r) => r.msg === msg);
  const upstream: string[] = [];
  const reconnect = { initialMs: 100, capMs: 400 };
  const starting = startEventBus({
    mode: 2,
    internalUrl: "tcp://127.0.0.1:0",
    externalUrl: `tcp://127.0.0.1:${port}`,
    qos: 1,
    log,
    externalReconnect: reconnect,
    upstream: (topic) => upstream.push(topic),
  });
  let bus: EventBus | undefined;
  let mosquitto = undefined as Awaited<ReturnType<typeof startMosquitto>> | undefined;
  try {
    await wait(1200);
    mosquitto = await startMosquitto({ dir: run.path, port, record });
    bus = await starting;
    const failed = msgs("mqtt external broker unreachable, retrying");
    assert.ok(failed.length >= 3 && failed.length <= 10, `${failed.length} failed attempts in 1.2 s`);
    const connected = msgs("mqtt external broker connected");
    assert.equal(connected.length, 1);
    assert.equal(connected[0]!.failedAttempts, failed.length);
    // The upload filters were subscribed while no broker was there; the first connection sent them.
    await mosquittoPub(port, "SYS/dis/upload_records", "1", { qos: 1, record });
    await eventually(() => upstream.length === 1, "the first upload upstream");

    await mosquitto.stop();
    await eventually(() => msgs("mqtt external broker offline, retrying").length === 1, "offline logged");
    const [offline] = msgs("mqtt external broker offline, retrying");
    assert.ok(Number(offline!.retryInMs) < reconnect.initialMs, "connected once, the backoff starts over");
    mosquitto = await startMosquitto({ dir: run.path, port, record });
    await eventually(() => msgs("mqtt external broker reconnected").length === 1, "reconnected logged", 5000);
    await mosquittoPub(port, "SYS/dis/upload_records", "2", { qos: 1, record });
    await eventually(() => upstream.length === 2, "an upload after the reconnect (subscriptions renewed)");
  } finally {
    await (bus ?? await starting.catch(() => undefined))?.close();
    await mosquitto?.stop();
    await run.remove();
  }
});
