import assert from "node:assert/strict";
import { toFrame } from "./ws_data.ts";

Deno.test("toFrame joins ws fragments, passes bytes through and turns anything else into no bytes", () => {
  const bytes = new Uint8Array([1, 2]);
  assert.equal(toFrame(bytes), bytes);
  assert.deepEqual(toFrame(new Uint8Array([7]).buffer), new Uint8Array([7]));
  assert.deepEqual(toFrame([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
  assert.deepEqual(toFrame("text"), new Uint8Array(0));
});
