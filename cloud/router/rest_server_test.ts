import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { httpResponseContent, type Message, parseHttpRequest } from "../../lib/protocol/mod.ts";
import { type RestRefusal, startRestServer } from "./rest_server.ts";
import { RouteTable } from "./route_table.ts";
import type { Route } from "./rule_spec.ts";
import { ServiceCalls } from "./service_calls.ts";

const log = createLogger({ level: "error", write: () => {} });

function routes(): RouteTable {
  const t = new RouteTable();
  const meta = (name: string) => ({ name, namespace: "default" });
  t.setEndpoint({ metadata: meta("rest"), spec: { ruleEndpointType: "rest" } });
  t.setEndpoint({ metadata: meta("bus"), spec: { ruleEndpointType: "eventbus" } });
  t.setEndpoint({
    metadata: meta("sb"),
    spec: { ruleEndpointType: "servicebus", properties: { service_port: "8080" } },
  });
  t.setRule({
    metadata: meta("to-bus"),
    spec: { source: "rest", sourceResource: { path: "/bus" }, target: "bus", targetResource: { topic: "t" } },
  });
  t.setRule({
    metadata: meta("to-app"),
    spec: {
      source: "rest",
      sourceResource: { path: "/app" },
      target: "sb",
      targetResource: { path: "/api" },
    },
  });
  return t;
}

/** A rest server whose "node" is this test: `answer` decides what the box does with each message. */
async function withServer(
  answer: (node: string, message: Message, calls: ServiceCalls) => void,
  fn: (
    url: string,
    seen: { refused: RestRefusal[]; records: Array<{ rule: string; ok: boolean; error?: string }> },
  ) => Promise<void>,
) {
  const calls = new ServiceCalls(2);
  const seen = {
    refused: [] as RestRefusal[],
    records: [] as Array<{ rule: string; ok: boolean; error?: string }>,
  };
  const server = await startRestServer({
    address: "127.0.0.1",
    port: 0,
    log,
    maxBodyBytes: 1024,
    timeoutMs: 300,
    table: routes(),
    calls,
    isEdgeNode: (node) => node === "edge-a" || node === "edge-off",
    isConnected: (node) => node === "edge-a",
    post: (node, message) => answer(node, message, calls),
    record: (route: Route, ok, error) => seen.records.push({ rule: route.rule, ok, error }),
    refused: (reason) => seen.refused.push(reason),
  });
  try {
    await fn(`http://127.0.0.1:${server.port}`, seen);
  } finally {
    await server.close();
  }
}

Deno.test("rest endpoint: eventbus publish, servicebus answer, and every refusal with its status", async () => {
  const published: Array<{ node: string; topic: string; body: unknown }> = [];
  await withServer((node, message, calls) => {
    if (message.route.operation === "publish") {
      published.push({ node, topic: message.route.resource, body: message.content });
      return;
    }
    const request = parseHttpRequest(message.content, 1024);
    if (new TextDecoder().decode(request.body) === "silent") return;
    const content = httpResponseContent({
      header: { "x-app": ["1"] },
      status_code: 202,
      body: new TextEncoder().encode(`${message.route.operation} ${message.route.resource}`),
    });
    // Another node cannot answer; the called node can.
    assert.equal(calls.answer(message.header.msg_id, "edge-b", () => ({} as never)), "other_node");
    calls.answer(message.header.msg_id, node, () => ({
      header: content.header as Record<string, string[]>,
      status_code: 202,
      body: Uint8Array.from(atob(content.body as string), (c) => c.charCodeAt(0)),
    }));
  }, async (url, seen) => {
    const call = async (path: string, body: string, init: RequestInit = {}) => {
      const res = await fetch(`${url}${path}`, { method: "POST", body, ...init });
      return { status: res.status, text: await res.text(), headers: res.headers };
    };
    const bus = await call("/edge-a/default/bus/x", "hello");
    assert.deepEqual([bus.status, bus.text], [200, "message delivered"]);
    assert.deepEqual(published, [{ node: "edge-a", topic: "t/x", body: "hello" }]);
    const app = await call("/edge-a/default/app/y?q=1", "hi");
    assert.deepEqual([app.status, app.text, app.headers.get("x-app")], [202, "POST 8080:/api/y?q=1", "1"]);
    assert.equal((await call("/edge-a/default/app", "silent")).status, 408, "no answer within restTimeout");
    assert.equal((await call("/edge-a/default/none", "x")).status, 404);
    assert.equal((await call("/edge-z/default/bus", "x")).status, 404);
    assert.equal((await call("/edge-off/default/bus", "x")).status, 503);
    assert.equal((await call("/edge-a/default/bus", "x".repeat(1025))).status, 413);
    assert.equal((await call("/", "x")).status, 404);
    assert.deepEqual(seen.refused, [
      "timeout",
      "no_rule",
      "unknown_node",
      "node_not_connected",
      "too_large",
      "bad_path",
    ]);
    assert.deepEqual(seen.records.map((r) => `${r.rule} ${r.ok}`), [
      "default/to-bus true",
      "default/to-app true",
      "default/to-app false",
      "default/to-bus false",
    ]);
  });
});

Deno.test("rest endpoint refuses a body declared over the limit without reading it", async () => {
  await withServer(() => {}, async (url) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
    try {
      const head = "POST /edge-a/default/bus HTTP/1.1\r\nhost: x\r\ncontent-length: 16777216\r\n\r\n";
      await conn.write(new TextEncoder().encode(head));
      const buf = new Uint8Array(512);
      const n = await conn.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 413/);
    } finally {
      conn.close();
    }
  });
});

Deno.test("rest endpoint answers 503 while the node's socket is full, instead of piling more on it", async () => {
  await withServer(() => {
    const busy = new RangeError("Cannot send to node edge-a: it has not read what it was sent yet");
    busy.name = "NodeBusyError";
    throw busy;
  }, async (url, seen) => {
    const res = await fetch(`${url}/edge-a/default/bus`, { method: "POST", body: "x" });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /has not read what it was sent yet/);
    assert.deepEqual(seen.refused, ["node_busy"]);
    assert.deepEqual(seen.records.map((r) => r.ok), [false]);
  });
});
