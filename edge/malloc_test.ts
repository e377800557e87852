import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { limitMallocRetention } from "./malloc.ts";

Deno.test("edgecore sets glibc's trim threshold through FFI (Debian's libc.so.6 takes it)", () => {
  assert.equal(limitMallocRetention(createLogger({ level: "error", write: () => {} })), true);
});
