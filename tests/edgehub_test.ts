/** EdgeHub against a real CloudHub (and, for hostile frames, a bare `ws` server) over TLS on loopback. */
import assert from "node:assert/strict";
import https from "node:https";
import { WebSocketServer } from "ws";
import { type CloudHub, type CloudHubOptions, startCloudHub } from "../cloud/hub/mod.ts";
import { createTestPki, delay, testLogger, waitFor } from "../cloud/hub/test_util.ts";
import { type EdgeHub, type EdgeHubOptions, startEdgeHub } from "../edge/hub/mod.ts";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { startFreezableProxy } from "./harness/freezable_proxy.ts";
import { encode, type Message, newMessage, responseTo } from "../lib/protocol/mod.ts";

const pki = await createTestPki();
const NODE = "edge-1";
const credentials = await pki.nodeCredentials(NODE);

function startHub(options: Partial<CloudHubOptions> = {}): Promise<CloudHub> {
  return startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
    registry: new Registry(),
    onMessage: () => Promise.resolve(undefined),
    closeGraceMs: 200,
    ...options,
  });
}

function edgeOptions(port: number, options: Partial<EdgeHubOptions> = {}): EdgeHubOptions {
  return {
    server: `127.0.0.1:${port}`,
    projectID: "e632aba927ea4ac2b575ec1603d56f10",
    nodeName: NODE,
    credentials: () => Promise.resolve(credentials),
    log: testLogger(),
    onMessage: () => Promise.resolve(),
    backoff: { initialMs: 20, capMs: 100 },
    ...options,
  };
}

function delivery(name: string, resourceVersion: string): Message {
  return newMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource: `default/pod/${name}`,
    content: { metadata: { name, resourceVersion } },
    resourceVersion,
  });
}

function query(): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/c",
    content: "",
  });
}

async function using(hub: CloudHub | undefined, edge: EdgeHub, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await edge.close();
    await hub?.close();
  }
}

Deno.test("edgehub connects as its certificate's node and sends keepalives every heartbeatMs", async () => {
  const registry = new Registry();
  const hub = await startHub({ registry, keepaliveTimeoutMs: 400 });
  const edge = startEdgeHub(edgeOptions(hub.port, { heartbeatMs: 100 }));
  await using(hub, edge, async () => {
    await waitFor(() => edge.connected);
    assert.deepEqual(hub.connectedNodes(), [NODE]);
    await delay(1000);
    // Without keepalives the 400 ms timeout would have dropped the session.
    assert.deepEqual(hub.connectedNodes(), [NODE]);
    const text = registry.render();
    const count = Number(/operation="keepalive"\} (\d+)/.exec(text)?.[1] ?? 0);
    assert.ok(count >= 7 && count <= 11, `keepalives: ${count}`);
  });
});

Deno.test("edgehub acks a delivery only after onMessage resolves", async () => {
  const hub = await startHub();
  let release: () => void = () => {};
  const handled: Message[] = [];
  const edge = startEdgeHub(edgeOptions(hub.port, {
    onMessage: (message) => {
      handled.push(message);
      return new Promise<void>((resolve) => release = resolve);
    },
  }));
  await using(hub, edge, async () => {
    await waitFor(() => edge.connected);
    hub.send(NODE, { message: delivery("p", "1"), uid: "u1" });
    await waitFor(() => handled.length === 1);
    await delay(200);
    assert.equal(hub.queueStats(NODE).unacked, 1);
    release();
    await waitFor(() => hub.queueStats(NODE).queued === 0, 2000, "ack");
  });
});

Deno.test("edgehub sends no ack when onMessage rejects, so the cloud sends the delivery again", async () => {
  const hub = await startHub({ resendMs: 200 });
  let calls = 0;
  const edge = startEdgeHub(edgeOptions(hub.port, {
    onMessage: () =>
      ++calls === 1 ? Promise.reject(new Error("Cannot store pod: disk full")) : Promise.resolve(),
  }));
  await using(hub, edge, async () => {
    await waitFor(() => edge.connected);
    hub.send(NODE, { message: delivery("p", "1"), uid: "u1" });
    await waitFor(() => calls === 1);
    assert.equal(hub.queueStats(NODE).queued, 1);
    await waitFor(() => hub.queueStats(NODE).queued === 0, 3000, "ack after resend");
    assert.equal(calls, 2);
  });
});

Deno.test("edgehub request resolves with the cloud's reply", async () => {
  const hub = await startHub({
    onMessage: (_node, m) => Promise.resolve(responseTo(m, { Object: "cm", Err: null })),
  });
  const edge = startEdgeHub(edgeOptions(hub.port));
  await using(hub, edge, async () => {
    const reply = await edge.request(query(), 3000);
    assert.equal(reply.route.operation, "response");
    assert.deepEqual(reply.content, { Object: "cm", Err: null });
  });
});

Deno.test("edgehub holds messages sent while disconnected and delivers them once connected", async () => {
  const first = await startHub();
  const port = first.port;
  await first.close();
  const received: Message[] = [];
  const edge = startEdgeHub(edgeOptions(port));
  let hub: CloudHub | undefined;
  await using(undefined, edge, async () => {
    const held = query();
    edge.send(held);
    assert.equal(edge.connected, false);
    await delay(100);
    hub = await startHub({ port, onMessage: (_n, m) => (received.push(m), Promise.resolve(undefined)) });
    await waitFor(() => received.length === 1, 3000);
    assert.equal(received[0]?.header.msg_id, held.header.msg_id);
  }).finally(() => hub?.close());
});

Deno.test("edgehub refuses to hold more than outboxLimit messages while disconnected", async () => {
  const edge = startEdgeHub(
    edgeOptions(1, { outboxLimit: 2, backoff: { initialMs: 60_000, capMs: 60_000 } }),
  );
  await using(undefined, edge, () => {
    edge.send(query());
    edge.send(query());
    assert.throws(() => edge.send(query()), RangeError);
    return Promise.resolve();
  });
});

Deno.test("edgehub reconnects with backoff after the cloud hub restarts on the same port", async () => {
  const first = await startHub();
  const port = first.port;
  let connects = 0;
  const disconnects: string[] = [];
  const edge = startEdgeHub(edgeOptions(port, {
    onConnect: () => connects++,
    onDisconnect: (reason) => disconnects.push(reason),
  }));
  let second: CloudHub | undefined;
  await using(undefined, edge, async () => {
    await waitFor(() => connects === 1);
    await first.close();
    await waitFor(() => !edge.connected);
    assert.equal(disconnects.length, 1);
    await delay(300);
    second = await startHub({ port });
    await waitFor(() => connects === 2, 3000, "second connect");
    assert.deepEqual(second.connectedNodes(), [NODE]);
  }).finally(() => second?.close());
});

Deno.test("edgehub drops a connection on which the cloud went silent (no FIN) and connects anew", async () => {
  const hub = await startHub();
  await using proxy = startFreezableProxy(hub.port);
  let connects = 0;
  const disconnects: string[] = [];
  const edge = startEdgeHub(edgeOptions(proxy.port, {
    heartbeatMs: 200,
    onConnect: () => connects++,
    onDisconnect: (reason) => disconnects.push(reason),
  }));
  await using(hub, edge, async () => {
    await waitFor(() => connects === 1);
    // Healthy but quiet: pongs keep it alive across many heartbeats.
    await delay(1_000);
    assert.equal(connects, 1);
    proxy.freeze();
    const frozenAt = Date.now();
    await waitFor(() => connects === 2, 3_000, "reconnect through a new connection");
    const ms = Date.now() - frozenAt;
    assert.ok(ms >= 400 && ms < 1_500, `a silent cloud was noticed after ${ms} ms (2.5 heartbeats: 500 ms)`);
    assert.equal(disconnects.length, 1);
  });
});

Deno.test("edgehub close during a long backoff returns at once", async () => {
  const first = await startHub();
  const port = first.port;
  await first.close();
  let attempts = 0;
  const edge = startEdgeHub(edgeOptions(port, {
    backoff: { initialMs: 60_000, capMs: 60_000 },
    random: () => 0.99,
    credentials: () => (attempts++, Promise.resolve(credentials)),
  }));
  await waitFor(() => attempts === 1);
  await delay(100);
  const started = performance.now();
  await edge.close();
  assert.ok(performance.now() - started < 200, `close took ${performance.now() - started} ms`);
  assert.equal(attempts, 1);
});

Deno.test("edgehub close through its abort signal stops reconnecting", async () => {
  const controller = new AbortController();
  let attempts = 0;
  const edge = startEdgeHub(edgeOptions(1, {
    signal: controller.signal,
    backoff: { initialMs: 60_000, capMs: 60_000 },
    random: () => 0.99,
    credentials: () => (attempts++, Promise.resolve(credentials)),
  }));
  await waitFor(() => attempts === 1);
  controller.abort();
  await edge.close();
  assert.equal(edge.connected, false);
});

Deno.test("edgehub reconnect() dials again now with credentials read afresh", async () => {
  const hub = await startHub();
  const rotated = await pki.nodeCredentials(NODE);
  let reads = 0;
  let connects = 0;
  const edge = startEdgeHub(edgeOptions(hub.port, {
    backoff: { initialMs: 60_000, capMs: 60_000 },
    credentials: () => Promise.resolve(++reads === 1 ? credentials : rotated),
    onConnect: () => connects++,
  }));
  await using(hub, edge, async () => {
    await waitFor(() => connects === 1);
    edge.reconnect();
    await waitFor(() => connects === 2, 2000, "reconnect without backoff");
    assert.equal(reads, 2);
    assert.deepEqual(hub.connectedNodes(), [NODE]);
  });
});

Deno.test("edgehub drops a malformed frame and closes with 1009 on one over maxMessageBytes", async () => {
  const server = https.createServer({
    ca: pki.caPem,
    ...{ cert: pki.server.certPem, key: pki.server.keyPem },
  });
  const wss = new WebSocketServer({ server });
  const closes: number[] = [];
  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    ws.on("close", (code) => closes.push(code));
    ws.send("not json at all");
    ws.send(encode(delivery("ok", "1")));
    ws.send(encode(delivery("big", "2")) + " ".repeat(4096));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const handled: Message[] = [];
  const edge = startEdgeHub(edgeOptions(port, {
    maxMessageBytes: 2048,
    backoff: { initialMs: 60_000, capMs: 60_000 },
    onMessage: (m) => (handled.push(m), Promise.resolve()),
  }));
  try {
    await waitFor(() => closes.length === 1, 3000);
    assert.equal(closes[0], 1009);
    assert.deepEqual(handled.map((m) => m.route.resource), ["default/pod/ok"]);
  } finally {
    await edge.close();
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

Deno.test("edgehub gives up a dial that gets no TLS answer after handshakeTimeoutMs and dials again", async () => {
  // Accepts TCP and says nothing: the TLS handshake never completes.
  const held = new Set<Deno.Conn>();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) held.add(conn);
  })();
  const reasons: string[] = [];
  const hub = startEdgeHub(edgeOptions((listener.addr as Deno.NetAddr).port, {
    handshakeTimeoutMs: 300,
    log: createLogger({
      level: "info",
      write: (line) => {
        const record = JSON.parse(line) as { msg?: string; reason?: string };
        if (record.msg === "reconnecting") reasons.push(String(record.reason));
      },
    }),
  }));
  try {
    await waitFor(() => reasons.length >= 2, 5_000, "two dials timed out");
    assert.match(reasons[0]!, /^Opening handshake has timed out after 300 ms$/);
    assert.ok(held.size >= 2, `dialled again (${held.size} connections)`);
  } finally {
    await hub.close();
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});
