import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { createTestPki, testLogger } from "../hub/test_util.ts";
import { startTunnelServer } from "./tunnel_server.ts";

const pki = await createTestPki();
const NODE = "edge-a";
const credentials = await pki.nodeCredentials(NODE);

/** Dials the tunnel with `headers`; resolves with the 101's x-kedge-tunnel, or the refusal's status. */
function dial(
  port: number,
  headers: Record<string, string>,
): Promise<{ ws?: WebSocket; echo?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/v1/kubeedge/connect`, {
      ca: credentials.caPem,
      cert: credentials.certPem,
      key: credentials.keyPem,
      headers,
    });
    let echo: string | undefined;
    ws.on("upgrade", (res) => echo = res.headers["x-kedge-tunnel"] as string | undefined);
    ws.on("open", () => resolve({ ws, echo }));
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
    });
    ws.on("error", reject);
  });
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

Deno.test("the tunnel's wire form is chosen per connection: kedge's mux when asked and echoed, else KubeEdge's framing", async () => {
  const server = await startTunnelServer({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
  });
  try {
    const kedge = await dial(server.port, { "x-kedge-tunnel": "mux/1", SessionHostNameOverride: NODE });
    assert.equal(kedge.echo, "mux/1");
    await until(() => server.tunnel(NODE) !== undefined);
    assert.equal(server.tunnel(NODE)?.kind, "mux");
    kedge.ws?.close();
    await until(() => server.tunnel(NODE) === undefined);

    // As KubeEdge's edgestream dials: its two session headers, no x-kedge-tunnel, and so no echo.
    const kubeedge = await dial(server.port, {
      SessionHostNameOverride: NODE,
      SessionInternalIP: "192.0.2.7",
    });
    assert.equal(kubeedge.echo, undefined);
    await until(() => server.tunnel(NODE) !== undefined);
    assert.equal(server.tunnel(NODE)?.kind, "kubeedge");
    kubeedge.ws?.close();
    await until(() => server.tunnel(NODE) === undefined);

    // A kedge edgecore from before the negotiation sends neither header: the multiplexer, no echo.
    const older = await dial(server.port, {});
    assert.equal(older.echo, undefined);
    await until(() => server.tunnel(NODE) !== undefined);
    assert.equal(server.tunnel(NODE)?.kind, "mux");
    older.ws?.close();
  } finally {
    await server.close();
  }
});

Deno.test("a tunnel whose SessionHostNameOverride names another node than its certificate is refused with 403", async () => {
  const server = await startTunnelServer({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, ...pki.server },
    log: testLogger(),
  });
  try {
    const refused = await dial(server.port, { SessionHostNameOverride: "edge-b" });
    assert.equal(refused.status, 403);
    assert.equal(server.tunnel("edge-b"), undefined);
    assert.equal(server.tunnel(NODE), undefined);
  } finally {
    await server.close();
  }
});
