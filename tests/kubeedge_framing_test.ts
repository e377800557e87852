// Both of kedge's ends of a stream tunnel in KubeEdge's framing (cloud/stream/kubeedge_tunnel.ts and
// edge/stream/kubeedge_session.ts), on loopback without TLS: a log request and an upgrade go through, every
// frame is a text frame starting with the uvarint id and type, and a connector's url.Host is never dialled.
// The real peers are in kubeedge_edge_e2e_test.ts and kubeedge_cloud_e2e_test.ts; this runs without them.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { KubeEdgeTunnel } from "../cloud/stream/kubeedge_tunnel.ts";
import { serveKubeEdgeSession } from "../edge/stream/kubeedge_session.ts";
import { createLogger } from "../lib/log.ts";
import { decodeKeMessage, encodeKeMessage, goUrl, KE_MESSAGE } from "../lib/tunnel/kubeedge_frame.ts";

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

Deno.test("kedge's cloud and edge carry logs and an upgrade in KubeEdge's framing, in text frames", async () => {
  const log = createLogger({ component: "test", level: "error" });
  // The kubelet-style server on the "edge".
  const seen: string[] = [];
  const kubelet = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("line-1\nline-2\n");
  });
  kubelet.on("upgrade", (req, socket) => {
    seen.push(`UPGRADE ${req.url} ${req.headers["x-stream-protocol-version"]}`);
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n");
    socket.on("data", (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
    socket.on("end", () => socket.end());
  });
  const kubeletPort = await listen(kubelet);
  // The tunnel: a WebSocket server as the cloud's tunnel port.
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", skipUTF8Validation: true });
  await new Promise((resolve) => wss.once("listening", resolve));
  const frames: Array<{ binary: boolean; type?: number }> = [];
  const cloudSide = new Promise<KubeEdgeTunnel>((resolve) =>
    wss.once("connection", (ws) => {
      ws.on("message", (data: Buffer, isBinary: boolean) =>
        frames.push({ binary: isBinary, type: decodeKeMessage(new Uint8Array(data))?.type }));
      resolve(new KubeEdgeTunnel(ws));
    })
  );
  const edgeWs = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/kubeedge/connect`, {
    skipUTF8Validation: true,
  });
  await new Promise((resolve) => edgeWs.once("open", resolve));
  serveKubeEdgeSession(edgeWs, { target: { host: "127.0.0.1", port: kubeletPort }, log });
  const tunnel = await cloudSide;
  // The stream server on the "cloud".
  const front = http.createServer((req, res) => tunnel.carryRequest(req, res));
  front.on("upgrade", (req, socket, head) => tunnel.carryUpgrade(req, socket, head));
  const frontPort = await listen(front);
  try {
    const logs = await fetch(`http://127.0.0.1:${frontPort}/containerLogs/default/web/app?tailLines=2`);
    assert.equal(logs.status, 200);
    assert.equal(await logs.text(), "line-1\nline-2\n");
    assert.deepEqual(seen, ["GET /containerLogs/default/web/app?tailLines=2"]);

    const socket = net.connect(frontPort, "127.0.0.1");
    socket.write(
      "POST /exec/default/web/app?command=sh&input=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" +
        "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
    );
    let got = "";
    socket.on("data", (chunk: Buffer) => {
      got += chunk.toString();
      if (got.includes("\r\n\r\n") && !got.includes("HELLO")) socket.write("hello");
    });
    const deadline = Date.now() + 5000;
    while (!got.includes("HELLO") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(got, /^HTTP\/1.1 101 Switching Protocols\r\n/);
    assert.match(got, /HELLO$/);
    assert.equal(seen[1], "UPGRADE /exec/default/web/app?command=sh&input=1 v4.channel.k8s.io");
    socket.end();
    await new Promise((resolve) => socket.on("close", resolve));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(tunnel.size, 0, "both ends forgot the connections");

    // What the edge sent: text frames only (KubeEdge's cloud drops a tunnel on a binary one), DATA and REMOVE.
    assert.ok(frames.length > 0);
    assert.ok(frames.every((f) => !f.binary), "text frames");
    assert.ok(frames.some((f) => f.type === KE_MESSAGE.REMOVE_CONNECT));
    assert.ok(frames.every((f) => f.type === KE_MESSAGE.DATA || f.type === KE_MESSAGE.REMOVE_CONNECT));
  } finally {
    edgeWs.terminate();
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => front.close(resolve));
    kubelet.closeAllConnections();
    await new Promise((resolve) => kubelet.close(resolve));
  }
});

/** A cloud and an edge joined by a tunnel in KubeEdge's framing, with `kubelet` as the edge's server. */
async function framedPair(
  kubelet: http.Server,
  options: { maxConnections?: number; stallMs?: number } = {},
) {
  const log = createLogger({ component: "test", level: "error" });
  const kubeletPort = await listen(kubelet);
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", skipUTF8Validation: true });
  await new Promise((resolve) => wss.once("listening", resolve));
  const cloudSide = new Promise<KubeEdgeTunnel>((resolve) =>
    wss.once("connection", (ws) => resolve(new KubeEdgeTunnel(ws, options)))
  );
  const edgeWs = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {
    skipUTF8Validation: true,
  });
  await new Promise((resolve) => edgeWs.once("open", resolve));
  serveKubeEdgeSession(edgeWs, { target: { host: "127.0.0.1", port: kubeletPort }, log });
  const tunnel = await cloudSide;
  const front = http.createServer((req, res) => tunnel.carryRequest(req, res));
  front.on("upgrade", (req, socket, head) => tunnel.carryUpgrade(req, socket, head));
  const frontPort = await listen(front);
  return {
    tunnel,
    url: (path: string) => `http://127.0.0.1:${frontPort}${path}`,
    async close() {
      edgeWs.terminate();
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
      kubelet.closeAllConnections();
      await new Promise((resolve) => kubelet.close(resolve));
    },
  };
}

Deno.test("in KubeEdge's framing, 16 MiB of log arrive whole and in order", async () => {
  const chunk = "0123456789abcdef".repeat(4096); // 64 KiB
  const kubelet = http.createServer(async (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 256; i++) {
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
    }
    res.end();
  });
  const pair = await framedPair(kubelet);
  try {
    const started = performance.now();
    const res = await fetch(pair.url("/containerLogs/default/web/app"));
    const body = new Uint8Array(await res.arrayBuffer());
    const ms = performance.now() - started;
    assert.equal(body.length, 16 * 1024 * 1024);
    assert.equal(new TextDecoder().decode(body), chunk.repeat(256));
    console.log(
      `16 MiB of log through KubeEdge's framing in ${Math.round(ms)} ms (${(16_000 / ms).toFixed(1)} MiB/s)`,
    );
  } finally {
    await pair.close();
  }
});

Deno.test("in KubeEdge's framing, a connection beyond the limit is 503 and one that stops draining is removed", async () => {
  let served = 0;
  const kubelet = http.createServer((req, res) => {
    served++;
    res.writeHead(200);
    if (req.url?.includes("follow")) {
      // Writes as long as the tunnel takes it, until the request is gone.
      const block = "x".repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(block));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
      return;
    }
    res.end("ok\n");
  });
  const pair = await framedPair(kubelet, { maxConnections: 1, stallMs: 500 });
  try {
    // A reader that never reads: the apiserver side stops draining.
    const stuck = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(pair.url("/containerLogs/default/web/app?follow=true"), (res) => {
        res.pause();
        resolve(res);
      })
    );
    assert.equal(stuck.statusCode, 200);
    const busy = await fetch(pair.url("/containerLogs/default/web/app"));
    assert.equal(busy.status, 503);
    await busy.body?.cancel();
    // Removed after stallMs; the tunnel reads again and serves the next request.
    const deadline = Date.now() + 10_000;
    while (pair.tunnel.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pair.tunnel.size, 0, "the stalled connection was removed");
    const next = await fetch(pair.url("/containerLogs/default/web/app"));
    assert.equal(next.status, 200);
    assert.equal(await next.text(), "ok\n");
    assert.equal(served, 2);
    stuck.destroy();
  } finally {
    await pair.close();
  }
});

Deno.test("kedge's edge serves a KubeEdge connector on its own kubelet server only (url.Host ignored, a bad path refused) and answers REMOVE_CONNECT with one", async () => {
  const log = createLogger({ component: "test", level: "error" });
  const seen: string[] = [];
  let followClosed = false;
  const kubelet = http.createServer((req, res) => {
    seen.push(req.url ?? "");
    if (req.url?.includes("follow")) {
      res.write("first\n");
      res.on("close", () => followClosed = true);
      return;
    }
    res.end("mine\n");
  });
  const kubeletPort = await listen(kubelet);
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", skipUTF8Validation: true });
  await new Promise((resolve) => wss.once("listening", resolve));
  const cloud = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
  const edgeWs = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, {
    skipUTF8Validation: true,
  });
  await new Promise((resolve) => edgeWs.once("open", resolve));
  serveKubeEdgeSession(edgeWs, { target: { host: "127.0.0.1", port: kubeletPort }, log });
  const ws = await cloud;
  const replies: Array<{ id: number; type: number; text: string }> = [];
  ws.on("message", (data: Buffer) => {
    const m = decodeKeMessage(new Uint8Array(data));
    if (m) replies.push({ id: m.id, type: m.type, text: new TextDecoder().decode(m.data) });
  });
  const connect = (id: number, url: Record<string, unknown>) =>
    ws.send(
      encodeKeMessage(
        id,
        KE_MESSAGE.LOGS_CONNECT,
        new TextEncoder().encode(
          JSON.stringify({ MessID: id, url, header: {} }),
        ),
      ),
      { binary: false },
    );
  try {
    connect(1, { ...goUrl("/containerLogs/default/web/app"), Host: "192.0.2.1:80" });
    // A raw path with a line break would split the request line: refused before any connection.
    connect(2, { ...goUrl("/containerLogs/default/web/app"), RawPath: "/containerLogs/a\r\nX: y" });
    const deadline = Date.now() + 5_000;
    while (replies.filter((r) => r.type === KE_MESSAGE.REMOVE_CONNECT).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(
      seen,
      ["/containerLogs/default/web/app"],
      "only the good one reached the kubelet server",
    );
    assert.deepEqual(replies.filter((r) => r.id === 1).map((r) => [r.type, r.text]), [
      [KE_MESSAGE.DATA, "mine\n"],
      [KE_MESSAGE.REMOVE_CONNECT, ""],
    ]);
    assert.deepEqual(replies.filter((r) => r.id === 2).map((r) => r.type), [KE_MESSAGE.REMOVE_CONNECT]);

    // The cloud's REMOVE_CONNECT ends the request and is answered with one (KubeEdge's cloud ends an exec or
    // attach only on that answer, resending REMOVE_CONNECT in a loop until then).
    connect(3, { ...goUrl("/containerLogs/default/web/app?follow=true") });
    while (!replies.some((r) => r.id === 3 && r.type === KE_MESSAGE.DATA) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ws.send(encodeKeMessage(3, KE_MESSAGE.REMOVE_CONNECT), { binary: false });
    while (
      (!followClosed || !replies.some((r) => r.id === 3 && r.type === KE_MESSAGE.REMOVE_CONNECT)) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(replies.filter((r) => r.id === 3).map((r) => [r.type, r.text]), [
      [KE_MESSAGE.DATA, "first\n"],
      [KE_MESSAGE.REMOVE_CONNECT, ""],
    ]);
    assert.ok(followClosed, "the kubelet request was closed");
  } finally {
    edgeWs.terminate();
    ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
    kubelet.closeAllConnections();
    await new Promise((resolve) => kubelet.close(resolve));
  }
});
