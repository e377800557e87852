/**
 * Frames <-> messages. Decode is the trust boundary for everything a peer sends, so it never throws for
 * any frame: each check returns a DecodeError, and the cheap checks (size, UTF-8, nesting depth) run
 * before the expensive ones (JSON.parse, schema).
 */
import * as v from "valibot";
import { exceedsJsonDepth } from "./json_depth.ts";
import { describeIssues, MessageSchema } from "./schema.ts";
import type { Message } from "./types.ts";

/** Default limit for one frame in UTF-8 bytes. */
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;
/** Default limit for nested objects and arrays, envelope included (a Pod needs about 10). */
export const DEFAULT_MAX_DEPTH = 64;

export interface CodecOptions {
  /** Largest frame in UTF-8 bytes; defaults to {@link DEFAULT_MAX_BYTES}. */
  readonly maxBytes?: number;
  /** Deepest nesting of objects and arrays; defaults to {@link DEFAULT_MAX_DEPTH}. */
  readonly maxDepth?: number;
}

export type DecodeErrorCode = "too_large" | "invalid_utf8" | "invalid_json" | "too_deep" | "invalid_shape";

/** Why a frame was refused; `code` is stable for metrics and close codes, `message` is for humans. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, why: string, options?: ErrorOptions) {
    super(`Cannot decode message: ${why}`, options);
    this.code = code;
  }
}

export type DecodeResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: DecodeError };

// fatal: refuse malformed bytes instead of substituting U+FFFD; ignoreBOM: keep a BOM so JSON.parse refuses it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes one WebSocket frame. Never throws for any frame content; throws RangeError only for invalid
 * options, which is a programming error.
 */
export function decode(frame: string | Uint8Array, options: CodecOptions = {}): DecodeResult {
  const { maxBytes, maxDepth } = limits(options);
  let text: string;
  if (typeof frame === "string") {
    // Each UTF-16 unit needs at least one UTF-8 byte, so a long string is refused before it is measured.
    const bytes = frame.length > maxBytes ? frame.length : utf8ByteLength(frame);
    if (bytes > maxBytes) {
      return fail("too_large", `frame has at least ${bytes} bytes, the limit is ${maxBytes}`);
    }
    if (!frame.isWellFormed()) return fail("invalid_utf8", "frame contains a lone UTF-16 surrogate");
    text = frame;
  } else {
    if (frame.byteLength > maxBytes) {
      return fail("too_large", `frame has ${frame.byteLength} bytes, the limit is ${maxBytes}`);
    }
    try {
      text = utf8.decode(frame);
    } catch (cause) {
      return fail("invalid_utf8", "frame is not valid UTF-8", cause);
    }
  }
  if (text.trim().length === 0) return fail("invalid_json", "frame is empty");
  if (exceedsJsonDepth(text, maxDepth)) {
    return fail("too_deep", `frame nests objects or arrays deeper than ${maxDepth} levels`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    return fail("invalid_json", `frame is not JSON: ${why}`, cause);
  }
  const parsed = v.safeParse(MessageSchema, json);
  if (!parsed.success) return fail("invalid_shape", describeIssues(parsed.issues));
  return { ok: true, message: parsed.output };
}

/**
 * Encodes a message as one text frame with exactly the wire keys and empty optional fields left out.
 * Throws TypeError when the message would not pass {@link decode} (bad header, content that is not JSON)
 * and RangeError when it exceeds the size or depth limit, so a peer never receives what it must refuse.
 */
export function encode(message: Message, options: CodecOptions = {}): string {
  const { maxBytes, maxDepth } = limits(options);
  const checked = v.safeParse(MessageSchema, message);
  if (!checked.success) throw new TypeError(`Cannot encode message: ${describeIssues(checked.issues)}`);
  const { header, route, content } = checked.output;
  // Built key by key so the output has the wire's keys in the wire's order, whatever the caller's object held.
  const wire = {
    header: {
      msg_id: header.msg_id,
      parent_msg_id: header.parent_msg_id,
      timestamp: header.timestamp,
      resourceversion: header.resourceversion,
      sync: header.sync,
    },
    route: { source: route.source, group: route.group, operation: route.operation, resource: route.resource },
    content,
  };
  let text: string;
  try {
    text = JSON.stringify(wire);
  } catch (cause) {
    throw new TypeError("Cannot encode message: content is not JSON-serializable", { cause });
  }
  if (exceedsJsonDepth(text, maxDepth)) {
    throw new RangeError(`Cannot encode message: it nests deeper than ${maxDepth} levels`);
  }
  const bytes = utf8ByteLength(text);
  if (bytes > maxBytes) {
    throw new RangeError(`Cannot encode message: it has ${bytes} bytes, the limit is ${maxBytes}`);
  }
  return text;
}

/** The UTF-8 length of a string without allocating its bytes; a lone surrogate counts as U+FFFD (3). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function fail(code: DecodeErrorCode, why: string, cause?: unknown): DecodeResult {
  return { ok: false, error: new DecodeError(code, why, cause === undefined ? undefined : { cause }) };
}

function limits(options: CodecOptions): { maxBytes: number; maxDepth: number } {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`Cannot use codec options: maxBytes must be a positive integer, got ${maxBytes}`);
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
    throw new RangeError(`Cannot use codec options: maxDepth must be a positive integer, got ${maxDepth}`);
  }
  return { maxBytes, maxDepth };
}
