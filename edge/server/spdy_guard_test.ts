import assert from "node:assert/strict";
import { SpdyGuard } from "./spdy_guard.ts";

const REPLY = new TextEncoder().encode(
  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
);

function control(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(8 + payload.length);
  frame.set([
    0x80,
    3,
    type >> 8,
    type & 0xff,
    flags,
    payload.length >> 16,
    payload.length >> 8,
    payload.length,
  ]);
  frame.set(payload, 8);
  return frame;
}

function withId(id: number, extra = 6): Uint8Array {
  const payload = new Uint8Array(4 + extra);
  new DataView(payload.buffer).setUint32(0, id);
  return payload;
}

const syn = (id: number, flags = 0) => control(1, flags, withId(id));
const reply = (id: number, flags = 0) => control(2, flags, withId(id));
const rst = (id: number) => control(3, 0, withId(id, 4));

function data(id: number, flags: number, length: number): Uint8Array {
  const frame = new Uint8Array(8 + length);
  new DataView(frame.buffer).setUint32(0, id);
  frame.set([flags, length >> 16, length >> 8, length], 4);
  return frame;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("spdy guard counts a stream open until both sides sent FIN or one sent RST_STREAM", () => {
  const guard = new SpdyGuard();
  assert.equal(guard.fromServer(REPLY), undefined);
  assert.equal(guard.fromClient(concat(syn(1, 1), syn(3))), undefined);
  assert.equal(guard.openStreams, 2);
  assert.equal(guard.fromServer(concat(reply(1), reply(3), data(1, 0, 10), data(1, 1, 0))), undefined);
  assert.equal(guard.openStreams, 1, "stream 1: FIN from both sides");
  assert.equal(guard.fromClient(rst(3)), undefined);
  assert.equal(guard.openStreams, 0);
});

Deno.test("spdy guard reads frames split at any byte", () => {
  const guard = new SpdyGuard({ maxStreams: 1 });
  const bytes = concat(syn(5), data(5, 0, 300), data(5, 1, 7));
  for (let i = 0; i < bytes.length; i++) assert.equal(guard.fromClient(bytes.subarray(i, i + 1)), undefined);
  assert.equal(guard.openStreams, 1);
  const server = concat(REPLY, reply(5, 1));
  for (let i = 0; i < server.length; i += 3) {
    assert.equal(guard.fromServer(server.subarray(i, i + 3)), undefined);
  }
  assert.equal(guard.openStreams, 0);
});

Deno.test("spdy guard refuses a stream over maxStreams and frames over their limits", () => {
  const limits = { maxStreams: 2, maxDataFrameBytes: 100, maxControlFrameBytes: 50 };
  const guard = new SpdyGuard(limits);
  assert.equal(guard.fromClient(concat(syn(1), syn(3), data(1, 0, 100))), undefined);
  assert.match(guard.fromClient(syn(5)) ?? "", /more than 2 streams at once/);
  assert.match(guard.fromServer(REPLY) ?? "", /more than 2 streams/, "a problem stays");
  assert.match(
    new SpdyGuard(limits).fromClient(data(1, 0, 101)) ?? "",
    /data frame of 101 bytes from the client/,
  );
  assert.match(
    new SpdyGuard(limits).fromClient(control(4, 0, new Uint8Array(51))) ?? "",
    /control frame of 51 bytes/,
  );
  const server = new SpdyGuard(limits);
  assert.equal(server.fromServer(REPLY), undefined);
  assert.match(server.fromServer(data(1, 0, 1000)) ?? "", /from the server/);
});

Deno.test("spdy guard passes an error reply through and refuses an endless reply head", () => {
  const refused = new SpdyGuard();
  const text = "HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nnope!";
  assert.equal(refused.fromServer(new TextEncoder().encode(text)), undefined);
  assert.equal(refused.fromClient(data(1, 0, 5_000_000)), undefined, "nothing is watched after no upgrade");
  const endless = new SpdyGuard({ maxReplyHeadBytes: 64 });
  assert.equal(endless.fromServer(new TextEncoder().encode("HTTP/1.1 101 x\r\n")), undefined);
  assert.match(endless.fromServer(new Uint8Array(100).fill(65)) ?? "", /reply head is longer than 64/);
});
