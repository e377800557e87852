import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { EDGE_SERVER_HEADER, ServiceBus } from "./service_bus.ts";

const log = createLogger({ level: "error", write: () => {} });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function withApp(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

Deno.test("servicebus calls the app on 127.0.0.1:<port><path> and returns its status, headers and body", async () => {
  await withApp(async (req) => {
    const url = new URL(req.url);
    return new Response(
      `${req.method} ${url.pathname}${url.search} ${await req.text()} ${req.headers.get("x-a")}`,
      {
        status: 201,
        headers: { "x-app": "yes" },
      },
    );
  }, async (port) => {
    const bus = new ServiceBus({ timeoutMs: 2000, maxBodyBytes: 1024, maxConcurrentCalls: 4, log });
    const { answer, result } = await bus.call("POST", `${port}:/target/x?q=1`, {
      header: { "X-A": ["1"], Host: ["evil"] },
      body: btoa("hello"),
      method: "POST",
    });
    assert.equal(result, "ok");
    assert.equal(answer.status_code, 201);
    assert.equal(text(answer.body), "POST /target/x?q=1 hello 1");
    assert.deepEqual(answer.header["x-app"], ["yes"]);
  });
});

Deno.test("servicebus answers itself, as KubeEdge does, when the app cannot be called or answers too much", async () => {
  const bus = new ServiceBus({ timeoutMs: 300, maxBodyBytes: 16, maxConcurrentCalls: 4, log });
  const bad = await bus.call("GET", "nope", {});
  assert.equal(bad.answer.status_code, 400);
  assert.deepEqual(bad.answer.header.Server, [EDGE_SERVER_HEADER]);
  const closed = await bus.call("GET", "1:/x", { method: "GET" });
  assert.equal(closed.answer.status_code, 404);
  assert.equal(closed.result, "unreachable");
  await withApp(async (req) => {
    if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 1000));
    return new Response("x".repeat(100));
  }, async (port) => {
    const big = await bus.call("GET", `${port}:/big`, { method: "GET" });
    assert.equal(big.result, "too_large");
    assert.equal(big.answer.status_code, 500);
    assert.match(text(big.answer.body), /response body too large/);
    const slow = await bus.call("GET", `${port}:/slow`, { method: "GET" });
    assert.equal(slow.result, "timeout");
  });
});
