import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { GuardedConnection, PacketSizeGuard } from "./packet_guard.ts";

/** A PUBLISH fixed header for a body of `length` bytes, plus that body. */
function packet(length: number): Uint8Array {
  const header = [0x30];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    header.push(byte);
  } while (rest > 0);
  const out = new Uint8Array(header.length + length);
  out.set(header);
  return out;
}

Deno.test("packets within the limit pass, in one chunk or split byte by byte", () => {
  const guard = new PacketSizeGuard(200);
  const stream = new Uint8Array([...packet(10), ...packet(150), ...packet(0)]);
  assert.equal(guard.feed(stream), 0);
  const split = new PacketSizeGuard(200);
  for (const byte of stream) assert.equal(split.feed(new Uint8Array([byte])), 0);
});

Deno.test("a packet over the limit is reported from its header, before its body arrives", () => {
  const guard = new PacketSizeGuard(1000);
  assert.equal(guard.feed(packet(10)), 0);
  const big = packet(5000);
  assert.equal(guard.feed(big.subarray(0, 3)), 1 + 2 + 5000);
});

Deno.test("the limit counts the fixed header too", () => {
  assert.equal(new PacketSizeGuard(12).feed(packet(10)), 0);
  assert.equal(new PacketSizeGuard(11).feed(packet(10)), 12);
});

Deno.test("a remaining length longer than four bytes is reported as malformed", () => {
  assert.equal(new PacketSizeGuard(1 << 30).feed(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0xff])), Infinity);
});

Deno.test("a connection whose peer stops reading never reports backpressure, and is dropped past maxQueuedBytes", async () => {
  const accepted = Promise.withResolvers<Socket>();
  const server = createServer((socket) => accepted.resolve(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: (server.address() as AddressInfo).port });
  const slow: number[] = [];
  const conn = new GuardedConnection(await accepted.promise, {
    maxPacketBytes: 1024,
    maxQueuedBytes: 256 * 1024,
  }, {
    onOversize: () => {},
    onSlowReader: (queued) => slow.push(queued),
  });
  conn.on("error", () => {/* the slow reader error, expected */});
  try {
    const chunk = new Uint8Array(16 * 1024);
    let backpressure = false;
    // The peer reads nothing: the kernel's buffers fill first, then the socket's, up to the limit.
    for (let i = 0; i < 4096 && slow.length === 0; i++) {
      const accepted = conn.write(chunk);
      if (!accepted && slow.length === 0) backpressure = true;
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(slow.length, 1);
    assert.ok(slow[0]! > 256 * 1024 && slow[0]! <= 256 * 1024 + chunk.length, `${slow[0]} bytes queued`);
    assert.equal(backpressure, false, "aedes would have waited for a drain that never comes");
    assert.ok(conn.destroyed);
  } finally {
    peer.close();
    conn.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
