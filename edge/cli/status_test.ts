import assert from "node:assert/strict";
import { probeHealth } from "./status.ts";

async function withServer(body: string, fn: (url: string) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => new Response(body));
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/status`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("probeHealth reads {connected, cloud, node} from /status", async () => {
  await withServer('{"connected":true,"cloud":"c:10000","node":"n1"}', async (url) => {
    assert.deepEqual(await probeHealth(url), {
      running: true,
      connected: true,
      cloud: "c:10000",
      node: "n1",
    });
  });
});

Deno.test("probeHealth: a plain 'ok' is running with the connection unknown; no answer is not running", async () => {
  await withServer("ok", async (url) => {
    const health = await probeHealth(url);
    assert.equal(health.running, true);
    assert.equal(health.connected, undefined);
  });
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  assert.equal((await probeHealth(`http://127.0.0.1:${port}/status`)).running, false);
});
