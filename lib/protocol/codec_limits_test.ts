import assert from "node:assert/strict";
import { decode, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, utf8ByteLength } from "./codec.ts";
import { accepted, envelope, refused } from "./test_util.ts";

Deno.test("decode rejects 10,000 nested arrays with too_deep", () => {
  refused(envelope("[".repeat(10_000) + "]".repeat(10_000)), "too_deep");
  refused("[".repeat(10_000), "too_deep");
});

Deno.test("decode rejects 10,000 nested objects with too_deep", () => {
  refused(envelope('{"a":'.repeat(10_000) + "1" + "}".repeat(10_000)), "too_deep");
});

Deno.test("decode does not count brackets inside strings, even after an escaped quote", () => {
  const deepText = "[{".repeat(10_000);
  assert.equal(accepted(envelope(JSON.stringify(deepText))).content, deepText);
  const tricky = '\\"' + "[".repeat(200) + "\\\\";
  assert.equal(accepted(envelope(`"${tricky}"`)).content, '"' + "[".repeat(200) + "\\");
  // A string ending in an escaped backslash is closed: the brackets after it count.
  refused(envelope('["\\\\",[[[[[]]]]]]'), "too_deep", { maxDepth: 6 });
});

Deno.test("decode accepts nesting up to maxDepth and rejects one level more", () => {
  // The envelope is level 1, so content nested n deep reaches level n + 1.
  assert.ok(decode(envelope("[".repeat(DEFAULT_MAX_DEPTH - 1) + "]".repeat(DEFAULT_MAX_DEPTH - 1))).ok);
  refused(envelope("[".repeat(DEFAULT_MAX_DEPTH) + "]".repeat(DEFAULT_MAX_DEPTH)), "too_deep");
  assert.ok(decode(envelope("[[[]]]"), { maxDepth: 4 }).ok);
  refused(envelope("[[[[]]]]"), "too_deep", { maxDepth: 4 });
});

Deno.test("decode rejects a frame larger than maxBytes with too_large", () => {
  const frame = envelope(JSON.stringify("x".repeat(200)));
  refused(frame, "too_large", { maxBytes: frame.length - 1 });
  refused(new TextEncoder().encode(frame), "too_large", { maxBytes: frame.length - 1 });
  assert.ok(decode(frame, { maxBytes: frame.length }).ok);
});

Deno.test("decode counts UTF-8 bytes, not characters, against maxBytes", () => {
  const frame = envelope(JSON.stringify("é".repeat(100)));
  const bytes = new TextEncoder().encode(frame).length;
  assert.ok(frame.length < bytes);
  const error = refused(frame, "too_large", { maxBytes: frame.length + 10 });
  assert.match(error.message, new RegExp(`${bytes} bytes`));
  assert.ok(decode(frame, { maxBytes: bytes }).ok);
});

Deno.test("decode rejects a string frame longer than the default 8 MiB with too_large", () => {
  assert.equal(DEFAULT_MAX_BYTES, 8 * 1024 * 1024);
  refused(envelope(JSON.stringify("x".repeat(DEFAULT_MAX_BYTES))), "too_large");
});

Deno.test("decode rejects invalid UTF-8 bytes with invalid_utf8", () => {
  const good = new TextEncoder().encode(envelope('"ab"'));
  const bad = new Uint8Array(good);
  bad[good.length - 3] = 0xff;
  refused(bad, "invalid_utf8");
  refused(new Uint8Array([0x22, 0xc3, 0x22]), "invalid_utf8"); // truncated two-byte sequence
});

Deno.test("decode rejects a string frame holding a lone surrogate with invalid_utf8", () => {
  refused(envelope('"\ud800"'), "invalid_utf8");
});

Deno.test("decode rejects an empty or blank frame with invalid_json", () => {
  assert.match(refused("", "invalid_json").message, /frame is empty/);
  refused(new Uint8Array(0), "invalid_json");
  refused(" \n\t", "invalid_json");
});

Deno.test("decode rejects trailing garbage and concatenated messages with invalid_json", () => {
  refused(envelope("1") + "x", "invalid_json");
  refused(envelope("1") + envelope("2"), "invalid_json");
  refused('{"header":', "invalid_json");
  refused(new TextEncoder().encode("\ufeff" + envelope("1")), "invalid_json"); // a BOM is not JSON
});

Deno.test("decode never throws for arbitrary bytes", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = ["{", "}", "[", "]", '"', "\\", ":", ",", "1", "a", "\xff", " "];
  for (let i = 0; i < 500; i++) {
    const text = Array.from({ length: Math.floor(random() * 60) }, () => alphabet[Math.floor(random() * 12)])
      .join("");
    assert.doesNotThrow(() => decode(text, { maxDepth: 8 }));
    const bytes = Uint8Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 256));
    assert.equal(decode(bytes).ok, false);
  }
});

Deno.test("utf8ByteLength agrees with TextEncoder, counting a lone surrogate as U+FFFD", () => {
  for (const s of ["", "abc", "é", "✓", "😀", "a😀b✓é", "\ud800", "x\udc00y", "\ud83d"]) {
    assert.equal(utf8ByteLength(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
});
