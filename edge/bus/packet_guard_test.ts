import assert from "node:assert/strict";
import { PacketSizeGuard } from "./packet_guard.ts";

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
