/** CloudHub over real TLS on loopback, with raw `ws` clients standing in for edge nodes. */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { Registry } from "../lib/metrics.ts";
import { createCa, type Issued } from "../lib/pki/mod.ts";
import { ackOf, type Message, newMessage, responseTo } from "../lib/protocol/mod.ts";
import {
  type CloudHub,
  type CloudHubOptions,
  QueueFullError,
  startCloudHub,
  startMetricsServer,
} from "../cloud/hub/mod.ts";
import {
  connectRawEdge,
  createTestPki,
  delay,
  type RawEdge,
  serverCertificate,
  testLogger,
  type TestPki,
  waitFor,
} from "../cloud/hub/test_util.ts";

const pki = await createTestPki();

interface Fixture {
  hub: CloudHub;
  registry: Registry;
  inbox: Array<{ node: string; message: Message }>;
  connects: string[];
  disconnects: string[];
  edges: RawEdge[];
  edge(node: string, extra?: { nodeId?: string; path?: string; ca?: Issued }): Promise<RawEdge>;
}

async function withHub(
  options: Partial<CloudHubOptions>,
  body: (f: Fixture) => Promise<void>,
): Promise<void> {
  const registry = new Registry();
  const inbox: Fixture["inbox"] = [];
  const connects: string[] = [];
  const disconnects: string[] = [];
  const hub = await startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
    registry,
    onMessage: (node, message) => {
      inbox.push({ node, message });
      return Promise.resolve(undefined);
    },
    onConnect: (node) => connects.push(node),
    onDisconnect: (node) => disconnects.push(node),
    closeGraceMs: 200,
    ...options,
  });
  const edges: RawEdge[] = [];
  const fixture: Fixture = {
    hub,
    registry,
    inbox,
    connects,
    disconnects,
    edges,
    async edge(node, extra = {}) {
      const credentials = await pki.nodeCredentials(node, extra.ca);
      const edge = await connectRawEdge({
        port: hub.port,
        credentials,
        nodeId: extra.nodeId ?? node,
        path: extra.path,
      });
      edges.push(edge);
      return edge;
    },
  };
  try {
    await body(fixture);
  } finally {
    for (const edge of edges) await edge.close();
    await hub.close();
  }
}

function delivery(
  name: string,
  resourceVersion: string,
  operation: "insert" | "update" | "delete" = "update",
) {
  return newMessage({
    source: "edgecontroller",
    group: "resource",
    operation,
    resource: `default/pod/${name}`,
    content: { metadata: { name, resourceVersion } },
    resourceVersion,
  });
}

function userMessage(content: unknown = "hi"): Message {
  return newMessage({
    source: "edged",
    group: "meta",
    operation: "query",
    resource: "default/configmap/c",
    content,
  });
}

Deno.test("cloudhub takes the node name from the client certificate", async () => {
  await withHub({}, async (f) => {
    const edge = await f.edge("node-a");
    await waitFor(() => f.connects.length === 1);
    assert.deepEqual(f.hub.connectedNodes(), ["node-a"]);
    edge.send(userMessage());
    await waitFor(() => f.inbox.length === 1);
    assert.equal(f.inbox[0]?.node, "node-a");
  });
});

Deno.test("cloudhub refuses with 403 a node_id or path that differs from the certificate, and the real node keeps its session", async () => {
  await withHub({}, async (f) => {
    const real = await f.edge("node-a");
    await assert.rejects(f.edge("node-a", { nodeId: "node-b" }), /HTTP 403/);
    await assert.rejects(f.edge("node-a", { path: "/p/node-b/events" }), /HTTP 403/);
    assert.deepEqual(f.hub.connectedNodes(), ["node-a"]);
    const item = delivery("p1", "5");
    f.hub.send("node-a", { message: item, uid: "u1" });
    const got = await real.next((m) => m.header.msg_id === item.header.msg_id);
    assert.equal(got.route.resource, "default/pod/p1");
    assert.equal(
      f.registry.render().includes('kedge_cloudhub_connections_refused_total{reason="node_mismatch"} 2'),
      true,
    );
  });
});

Deno.test("cloudhub refuses a client certificate from another CA at the TLS handshake", async () => {
  await withHub({}, async (f) => {
    const otherCa = await createCa({ commonName: "KubeEdge" });
    await assert.rejects(f.edge("node-a", { ca: otherCa }), (err: Error) => !/^HTTP/.test(err.message));
    assert.deepEqual(f.hub.connectedNodes(), []);
    await waitFor(() => /connections_refused_total\{reason="tls"\} 1/.test(f.registry.render()));
  });
});

Deno.test("cloudhub closes a 50 MB frame with 1009 while another edge keeps its keepalives and deliveries", async () => {
  await withHub({ maxMessageBytes: 1024 * 1024, keepaliveTimeoutMs: 1500 }, async (f) => {
    const steady = await f.edge("node-steady");
    const keepalive = setInterval(() => steady.send(keepalive_()), 200);
    const big = await rawUpgrade(f.hub.port, pki, "node-big");
    try {
      // A masked text frame announcing 50 MB, then its payload streamed in 1 MiB chunks.
      const header = new Uint8Array(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      new DataView(header.buffer).setBigUint64(2, BigInt(50 * 1024 * 1024));
      const closeFrame = readCloseCode(big.conn, big.rest);
      await big.conn.write(header);
      const chunk = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 50; i++) {
        if (await Promise.race([closeFrame.then(() => true), Promise.resolve(false)])) break;
        await big.conn.write(chunk).catch(() => 0);
      }
      assert.equal(await closeFrame, 1009);
      await delay(1800);
      assert.deepEqual(f.hub.connectedNodes(), ["node-steady"]);
      const item = delivery("p1", "1");
      f.hub.send("node-steady", { message: item, uid: "u1" });
      await steady.next((m) => m.header.msg_id === item.header.msg_id);
      assert.match(f.registry.render(), /kedge_cloudhub_frames_rejected_total\{reason="too_large"\} 1/);
    } finally {
      clearInterval(keepalive);
      big.conn.close();
    }
  });
});

/** Reads server frames until a close frame and returns its status code. */
async function readCloseCode(conn: Deno.TlsConn, rest: Uint8Array): Promise<number> {
  let data = rest;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    // Server frames are unmasked; skip any data frames before the close frame.
    while (data.length >= 2) {
      const opcode = data[0]! & 0x0f;
      let length = data[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = (data[2]! << 8) | data[3]!;
        offset = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        length = Number(new DataView(data.buffer, data.byteOffset + 2, 8).getBigUint64(0));
        offset = 10;
      }
      if (data.length < offset + length) break;
      if (opcode === 0x8) return length >= 2 ? (data[offset]! << 8) | data[offset + 1]! : 1005;
      data = data.subarray(offset + length);
    }
    const n = await conn.read(buffer);
    if (n === null) return 1006;
    const joined = new Uint8Array(data.length + n);
    joined.set(data);
    joined.set(buffer.subarray(0, n), data.length);
    data = joined;
  }
}

function keepalive_(): Message {
  return {
    header: { msg_id: crypto.randomUUID(), timestamp: Date.now() },
    route: { source: "websocket", group: "resource", operation: "keepalive", resource: "node" },
    content: "ping",
  };
}

Deno.test("cloudhub drops a session that stays silent for keepaliveTimeoutMs", async () => {
  await withHub({ keepaliveTimeoutMs: 300 }, async (f) => {
    const edge = await f.edge("node-a");
    const started = performance.now();
    let closedAt: number | undefined;
    void edge.closed.then(() => closedAt = performance.now());
    await waitFor(() => closedAt !== undefined, 3000, "the silent session to be dropped");
    const elapsed = (closedAt ?? 0) - started;
    assert.ok(elapsed >= 250 && elapsed < 2000, `dropped after ${elapsed} ms`);
    await waitFor(() => f.disconnects.length === 1);
    assert.deepEqual(f.hub.connectedNodes(), []);
  });
});

Deno.test("cloudhub answers ping, pong and config with an ack response", async () => {
  await withHub({}, async (f) => {
    const edge = await f.edge("node-a");
    for (const operation of ["ping", "pong", "config"] as const) {
      const probe = newMessage({
        source: "edgehub",
        group: "resource",
        operation,
        resource: "node",
        content: "",
      });
      edge.send(probe);
      const reply = await edge.next((m) => m.header.parent_msg_id === probe.header.msg_id);
      assert.equal(reply.route.operation, "response");
      assert.equal(reply.content, "ack");
    }
    assert.equal(f.inbox.length, 0);
  });
});

Deno.test("cloudhub logs and counts a malformed frame, replies with an error when it had an id, and keeps the session", async () => {
  await withHub({}, async (f) => {
    const edge = await f.edge("node-a");
    edge.ws.send("not json");
    edge.ws.send(JSON.stringify({ header: { msg_id: "bad-1", timestamp: 1 }, route: { group: "resource" } }));
    const reply = await edge.next((m) => m.header.parent_msg_id === "bad-1");
    assert.equal(reply.route.operation, "error");
    edge.send(userMessage());
    await waitFor(() => f.inbox.length === 1);
    const text = f.registry.render();
    assert.match(text, /kedge_cloudhub_frames_rejected_total\{reason="invalid_json"\} 1/);
    assert.match(text, /kedge_cloudhub_frames_rejected_total\{reason="invalid_shape"\} 1/);
  });
});

Deno.test("cloudhub sends back onMessage's reply and turns a thrown error into an error reply", async () => {
  await withHub({
    onMessage: (_node, message) =>
      message.content === "boom"
        ? Promise.reject(new Error("Cannot look up configmap: boom"))
        : Promise.resolve(responseTo(message, { Object: { ok: true }, Err: null })),
  }, async (f) => {
    const edge = await f.edge("node-a");
    const ok = userMessage("fine");
    edge.send(ok);
    const reply = await edge.next((m) => m.header.parent_msg_id === ok.header.msg_id);
    assert.equal(reply.route.operation, "response");
    assert.deepEqual(reply.content, { Object: { ok: true }, Err: null });
    const bad = userMessage("boom");
    edge.send(bad);
    const error = await edge.next((m) => m.header.parent_msg_id === bad.header.msg_id);
    assert.equal(error.route.operation, "error");
    assert.match(String(error.content), /boom/);
  });
});

Deno.test("cloudhub answers a node's Lease while 20 of its pod status patches wait on a slow apiserver", async () => {
  let releasePods: () => void = () => {};
  const podsReleased = new Promise<void>((resolve) => releasePods = resolve);
  let podsInFlight = 0;
  let mostPodsInFlight = 0;
  await withHub({
    handlerConcurrency: 4,
    onMessage: async (_node, message) => {
      if (message.route.resource.includes("/podpatch/")) {
        podsInFlight++;
        mostPodsInFlight = Math.max(mostPodsInFlight, podsInFlight);
        await podsReleased;
        podsInFlight--;
      }
      return responseTo(message, { Object: { resource: message.route.resource }, Err: null });
    },
  }, async (f) => {
    const edge = await f.edge("node-a");
    const patches = Array.from({ length: 20 }, (_, i) =>
      newMessage({
        source: "edged",
        group: "meta",
        operation: "patch",
        resource: `default/podpatch/p${i}`,
        content: "{}",
      }));
    for (const patch of patches) edge.send(patch);
    const lease = newMessage({
      source: "edged",
      group: "meta",
      operation: "update",
      resource: "kube-node-lease/lease/node-a",
      content: {},
    });
    edge.send(lease);
    await edge.next((m) => m.header.parent_msg_id === lease.header.msg_id, 2000);
    const podReplies = edge.received.filter((m) => String(m.route.resource).includes("/podpatch/"));
    assert.equal(podReplies.length, 0, "the Lease was answered before any pod patch finished");
    assert.equal(mostPodsInFlight, 4, "pod patches ran four at a time");
    releasePods();
    for (const patch of patches) {
      await edge.next((m) => m.header.parent_msg_id === patch.header.msg_id, 2000);
    }
    assert.equal(mostPodsInFlight, 4);
  });
});

Deno.test("cloudhub stops reading a node whose waiting messages pass inboxBytes, and goes on once they are handled", async () => {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  let handled = 0;
  await withHub({
    inboxBytes: 1024 * 1024,
    maxMessageBytes: 512 * 1024,
    onMessage: async (_node, message) => {
      handled++;
      await released;
      return responseTo(message, "done");
    },
  }, async (f) => {
    const edge = await f.edge("node-a");
    const big = "x".repeat(200_000);
    const sent = Array.from(
      { length: 12 },
      (_, i) =>
        newMessage({
          source: "edged",
          group: "meta",
          operation: "query",
          resource: `default/configmap/c${i}`,
          content: big,
        }),
    );
    for (const m of sent) edge.send(m);
    // Read only while the hub reads: with reading paused, even this Lease waits in the socket.
    const lease = newMessage({
      source: "edged",
      group: "meta",
      operation: "update",
      resource: "kube-node-lease/lease/node-a",
      content: {},
    });
    edge.send(lease);
    await delay(500);
    assert.ok(handled <= 4, `handled ${handled}`);
    const answered = () => edge.received.some((m) => m.header.parent_msg_id === lease.header.msg_id);
    assert.equal(answered(), false, "the sixth 200 KB frame passed 1 MiB: reading paused");
    assert.equal(
      edge.received.filter((m) => m.route.operation === "error").length,
      0,
      "paused, not refusing",
    );
    release();
    for (const m of [...sent, lease]) {
      await edge.next((r) => r.header.parent_msg_id === m.header.msg_id, 5000);
    }
    assert.equal(handled, 13);
  });
});

Deno.test("cloudhub request resolves with the edge's reply", async () => {
  await withHub({}, async (f) => {
    const edge = await f.edge("node-a");
    const question = userMessage("q");
    const answer = f.hub.request("node-a", question, 2000);
    const got = await edge.next((m) => m.header.msg_id === question.header.msg_id);
    edge.send(responseTo(got, "the answer"));
    assert.equal((await answer).content, "the answer");
    await assert.rejects(f.hub.request("node-z", userMessage(), 100), /not connected/);
  });
});

Deno.test("cloudhub replaces a node's session: the old one closes with 4000 and its unacked items move over", async () => {
  // No resend timer within the test: the item reaches the new session only by moving over.
  await withHub({ resendMs: 60_000 }, async (f) => {
    const first = await f.edge("node-a");
    const item = delivery("p1", "3");
    f.hub.send("node-a", { message: item, uid: "u1" });
    await first.next((m) => m.header.msg_id === item.header.msg_id);
    const second = await f.edge("node-a");
    const closed = await first.closed;
    assert.equal(closed.code, 4000);
    assert.equal(closed.reason, "replaced by a new session");
    const again = await second.next((m) => m.header.msg_id === item.header.msg_id);
    second.send(ackOf(again));
    await waitFor(() => f.hub.queueStats("node-a").queued === 0);
    assert.deepEqual(f.hub.connectedNodes(), ["node-a"]);
    assert.deepEqual(f.disconnects, []);
  });
});

Deno.test("cloudhub queue delivers only the newest update per uid, a delete over an update, and ignores an older version", async () => {
  await withHub({}, async (f) => {
    const send = (uid: string, m: Message, isDelete = false) =>
      f.hub.send("node-a", { message: m, uid, isDelete });
    const u1new = delivery("a", "7");
    assert.equal(send("u1", delivery("a", "5")), "queued");
    assert.equal(send("u1", u1new), "replaced");
    // A delete carrying the same resourceVersion as the queued update (a tombstone's last known state) wins.
    const u2del = delivery("b", "3", "delete");
    send("u2", delivery("b", "3"));
    assert.equal(send("u2", u2del, true), "replaced");
    const u3new = delivery("c", "9");
    send("u3", u3new);
    assert.equal(send("u3", delivery("c", "8")), "ignored");
    const edge = await f.edge("node-a");
    await waitFor(() => edge.received.length >= 3);
    await delay(100);
    assert.deepEqual(
      edge.received.map((m) => m.header.msg_id).sort(),
      [u1new, u2del, u3new].map((m) => m.header.msg_id).sort(),
    );
  });
});

Deno.test("cloudhub resends an unacked item after resendMs and after a reconnect, and stops once acked", async () => {
  await withHub({ resendMs: 300 }, async (f) => {
    const edge = await f.edge("node-a");
    const item = delivery("a", "1");
    f.hub.send("node-a", { message: item, uid: "u1" });
    await waitFor(() => edge.received.length === 2, 2000, "resend");
    await edge.close();
    const back = await f.edge("node-a");
    const again = await back.next((m) => m.header.msg_id === item.header.msg_id);
    back.send(ackOf(again));
    await waitFor(() => f.hub.queueStats("node-a").queued === 0);
    const count = back.received.length;
    await delay(500);
    assert.equal(back.received.length, count);
  });
});

Deno.test("cloudhub refuses a delivery when the node's queue is full and counts it", async () => {
  await withHub({ queueLimit: 2 }, (f) => {
    f.hub.send("node-a", { message: delivery("a", "1"), uid: "u1" });
    f.hub.send("node-a", { message: delivery("b", "1"), uid: "u2" });
    assert.throws(() => f.hub.send("node-a", { message: delivery("c", "1"), uid: "u3" }), QueueFullError);
    assert.match(f.registry.render(), /kedge_cloudhub_sends_refused_total\{reason="queue_full"\} 1/);
    assert.match(f.registry.render(), /kedge_cloudhub_queue_depth 2/);
    return Promise.resolve();
  });
});

Deno.test("cloudhub refuses a node beyond nodeLimit with 503", async () => {
  await withHub({ nodeLimit: 1 }, async (f) => {
    await f.edge("node-a");
    await assert.rejects(f.edge("node-b"), /HTTP 503/);
    await f.edge("node-a");
    assert.deepEqual(f.hub.connectedNodes(), ["node-a"]);
  });
});

Deno.test("cloudhub keeps delivering to one edge while another stalls without reading", async () => {
  await withHub({ highWaterBytes: 64 * 1024 }, async (f) => {
    const healthy = await f.edge("node-healthy");
    const stalled = await stalledEdge(f.hub.port, pki, "node-stalled");
    try {
      await waitFor(() => f.hub.connectedNodes().length === 2);
      const big = "x".repeat(60 * 1024);
      for (let i = 0; i < 150; i++) {
        f.hub.send("node-stalled", { message: { ...delivery(`s${i}`, "1"), content: big }, uid: `s${i}` });
      }
      await delay(300);
      const started = performance.now();
      const item = delivery("h", "1");
      f.hub.send("node-healthy", { message: item, uid: "h1" });
      await healthy.next((m) => m.header.msg_id === item.header.msg_id, 2000);
      assert.ok(performance.now() - started < 1000);
      // Backpressure: most items wait in the queue instead of the stalled socket's buffer.
      assert.ok(
        f.hub.queueStats("node-stalled").unsent > 50,
        JSON.stringify(f.hub.queueStats("node-stalled")),
      );
    } finally {
      stalled.close();
    }
  });
});

/** A TLS client that completes the WebSocket upgrade and then never reads. */
async function stalledEdge(port: number, testPki: TestPki, node: string): Promise<Deno.TlsConn> {
  return (await rawUpgrade(port, testPki, node)).conn;
}

/** Upgrades a raw TLS connection to WebSocket; `rest` holds bytes read past the 101 response. */
async function rawUpgrade(
  port: number,
  testPki: TestPki,
  node: string,
): Promise<{ conn: Deno.TlsConn; rest: Uint8Array }> {
  const credentials = await testPki.nodeCredentials(node);
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [credentials.caPem],
    cert: credentials.certPem,
    key: credentials.keyPem,
  });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /p/${node}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nnode_id: ${node}\r\n\r\n`,
  ));
  let data = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("Cannot upgrade: connection closed");
    const joined = new Uint8Array(data.length + n);
    joined.set(data);
    joined.set(buffer.subarray(0, n), data.length);
    data = joined;
    const text = new TextDecoder().decode(data);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      assert.match(text, /^HTTP\/1.1 101/);
      return { conn, rest: data.subarray(end + 4) };
    }
  }
}

Deno.test("cloudhub close ends every session with 1001", async () => {
  const registry = new Registry();
  const hub = await startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
    registry,
    onMessage: () => Promise.resolve(undefined),
  });
  let edge: RawEdge | undefined;
  try {
    edge = await connectRawEdge({
      port: hub.port,
      credentials: await pki.nodeCredentials("node-a"),
      nodeId: "node-a",
    });
  } finally {
    await hub.close();
  }
  assert.equal((await edge.closed).code, 1001);
});

Deno.test("cloudhub serves a new server certificate to new connections after updateServerCertificate", async () => {
  await withHub({}, async (f) => {
    const next = await serverCertificate(pki.ca);
    f.hub.updateServerCertificate(next.certPem, next.keyPem);
    const edge = await f.edge("node-a");
    const socket = (edge.ws as unknown as { _socket: { getPeerCertificate(): { raw: Uint8Array } } })._socket;
    const expected = new X509Certificate(next.certPem).fingerprint256;
    const actual = new X509Certificate(Uint8Array.from(socket.getPeerCertificate().raw)).fingerprint256;
    assert.equal(actual, expected);
  });
});

Deno.test("metrics server serves the hub's counters in Prometheus text and 404 elsewhere", async () => {
  await withHub({}, async (f) => {
    const edge = await f.edge("node-a");
    edge.send(userMessage());
    await waitFor(() => f.inbox.length === 1);
    const metrics = await startMetricsServer({
      address: "127.0.0.1",
      port: 0,
      registry: f.registry,
      log: testLogger(),
    });
    try {
      const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
      const text = await res.text();
      assert.match(text, /kedge_cloudhub_connected_nodes 1/);
      assert.match(text, /kedge_cloudhub_messages_total\{direction="in",operation="query"\} 1/);
      assert.match(text, /# TYPE kedge_cloudhub_pending_acks gauge/);
      const missing = await fetch(`http://127.0.0.1:${metrics.port}/other`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
    } finally {
      await metrics.close();
    }
  });
});
