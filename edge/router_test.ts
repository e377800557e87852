import assert from "node:assert/strict";
import mqtt from "mqtt";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { type Message, parseHttpResponse } from "../lib/protocol/mod.ts";
import { freePort } from "../tests/cluster/mod.ts";
import { eventBusOptionsFromConfig, startEventBus } from "./bus/mod.ts";
import { defaultEdgeCoreConfig } from "./config.ts";
import { startEdgeRouter } from "./router.ts";

const log = createLogger({ level: "error", write: () => {} });

function cloudMessage(source: string, operation: string, resource: string, content: unknown = null): Message {
  return {
    header: { msg_id: crypto.randomUUID(), timestamp: Date.now() },
    route: { source, group: "user", operation, resource },
    content,
  };
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("edge router: the cloud's subscriptions upload as source bus, publishes reach MQTT clients, other nodes are refused, servicebus answers", async () => {
  const config = defaultEdgeCoreConfig();
  const port = freePort();
  config.modules.eventBus.mqttMode = 0;
  config.modules.eventBus.mqttServerInternal = `tcp://127.0.0.1:${port}`;
  const bus = await startEventBus(
    eventBusOptionsFromConfig(config.modules.eventBus, { log, node: "edge-a" }),
  );
  const sent: Message[] = [];
  const router = startEdgeRouter({
    bus: Promise.resolve(bus),
    hub: { connected: true, send: (m) => void sent.push(m) },
    config,
    nodeName: "edge-a",
    log,
    registry: new Registry(),
  });
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "router-test" });
  try {
    assert.equal(
      await router.handleCloudMessage(cloudMessage("router_eventbus", "subscribe", "default/up")),
      true,
    );
    await client.publishAsync("default/up", "reading-1");
    const up = await until("the upload", () => sent.find((m) => m.route.resource === "default/up"));
    assert.deepEqual(up.route, { source: "bus", group: "user", operation: "upload", resource: "default/up" });
    assert.equal(up.content, "reading-1");

    await client.subscribeAsync("cloud/in");
    const got = new Promise<string>((resolve) => client.on("message", (_t, p) => resolve(p.toString())));
    await router.handleCloudMessage(cloudMessage("router_eventbus", "publish", "cloud/in", "hello"));
    assert.equal(await got, "hello");

    // A message naming another node is refused: no subscription is made.
    await router.handleCloudMessage(cloudMessage("router_eventbus", "subscribe", "node/edge-b/default/x"));
    await client.publishAsync("default/x", "not-mine");
    await router.handleCloudMessage(cloudMessage("router_eventbus", "unsubscribe", "default/up"));
    await client.publishAsync("default/up", "reading-2");
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(sent.map((m) => m.content), ["reading-1"]);

    // ServiceBus off (the default): the box answers 503 itself, naming the call.
    const call = cloudMessage("router_servicebus", "GET", "8080:/api", {
      method: "GET",
      header: {},
      body: null,
    });
    await router.handleCloudMessage(call);
    const answer = await until(
      "the answer",
      () => sent.find((m) => m.header.parent_msg_id === call.header.msg_id),
    );
    assert.deepEqual(answer.route, {
      source: "servicebus",
      group: "user",
      operation: "upload",
      resource: "",
    });
    const response = parseHttpResponse(answer.content, 1024);
    assert.equal(response.status_code, 503);
    assert.deepEqual(response.header.Server, ["kubeedge-edgecore"]);
    assert.equal(
      await router.handleCloudMessage(cloudMessage("edgecontroller", "insert", "default/pod/x")),
      false,
    );
  } finally {
    await client.endAsync();
    await router.close();
    await bus.close();
  }
});
