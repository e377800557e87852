/** Helpers shared by the codec tests. */
import assert from "node:assert/strict";
import { type CodecOptions, decode, DecodeError, type DecodeErrorCode } from "./codec.ts";
import type { Message } from "./types.ts";

/** A valid frame around the given content JSON. */
export function envelope(content: string): string {
  return `{"header":{"msg_id":"m1","timestamp":1},"route":{"source":"s","group":"resource",` +
    `"operation":"insert","resource":"default/pod/nginx"},"content":${content}}`;
}

/** Asserts that decode refuses the frame with the given code and returns the error. */
export function refused(
  frame: string | Uint8Array,
  code: DecodeErrorCode,
  options: CodecOptions = {},
): DecodeError {
  const result = decode(frame, options);
  if (result.ok) return assert.fail("frame was accepted");
  assert.ok(result.error instanceof DecodeError);
  assert.equal(result.error.code, code, result.error.message);
  assert.match(result.error.message, /^Cannot decode message: /);
  return result.error;
}

/** Asserts that decode accepts the frame and returns the message. */
export function accepted(frame: string | Uint8Array, options: CodecOptions = {}): Message {
  const result = decode(frame, options);
  if (!result.ok) return assert.fail(result.error.message);
  return result.message;
}
