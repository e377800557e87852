/**
 * configData values as google.protobuf.Any, the way KubeEdge's edge packs them (dtcommon.dataToAny): a JSON
 * string becomes a StringValue, a number a FloatValue (Go reads every JSON number as float64 and packs it as
 * float32), a boolean a BoolValue. Anything else (objects, arrays, null) has no packing upstream either: the
 * conversion fails with a RangeError. The wrapper messages are one field each, encoded here by hand.
 */
import type { PbAny, PbCustomizedValue } from "./types.ts";

const PREFIX = "type.googleapis.com/google.protobuf.";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeAny(value: unknown): PbAny {
  switch (typeof value) {
    case "string": {
      const bytes = encoder.encode(value);
      return {
        typeUrl: `${PREFIX}StringValue`,
        value: bytes.length === 0 ? new Uint8Array() : field(0x0a, bytes),
      };
    }
    case "number": {
      if (!Number.isFinite(value)) throw new RangeError(`Cannot pack ${value} as google.protobuf.Any`);
      if (value === 0) return { typeUrl: `${PREFIX}FloatValue`, value: new Uint8Array() };
      const out = new Uint8Array(5);
      out[0] = 0x0d;
      new DataView(out.buffer).setFloat32(1, value, true);
      return { typeUrl: `${PREFIX}FloatValue`, value: out };
    }
    case "boolean":
      return { typeUrl: `${PREFIX}BoolValue`, value: value ? Uint8Array.of(0x08, 1) : new Uint8Array() };
    default:
      throw new RangeError(
        `Cannot pack a ${
          value === null ? "null" : Array.isArray(value) ? "list" : typeof value
        } as google.protobuf.Any: configData values must be strings, numbers or booleans`,
      );
  }
}

/** A JSON object (configData) as a CustomizedValue; throws RangeError naming the first bad key. */
export function encodeCustomizedValue(data: unknown, where: string): PbCustomizedValue {
  if (data === undefined || data === null) return { data: {} };
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new RangeError(`Cannot convert ${where}: configData is not an object`);
  }
  const out: Record<string, PbAny> = {};
  for (const [key, value] of Object.entries(data)) {
    try {
      out[key] = encodeAny(value);
    } catch (error) {
      throw new RangeError(`Cannot convert ${where}.${key}: ${(error as Error).message}`);
    }
  }
  return { data: out };
}

/** The value inside an Any made by encodeAny (or by Go's wrapperspb); undefined for other types. */
export function decodeAny(any: PbAny): string | number | boolean | undefined {
  const type = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
  const bytes = any.value;
  switch (type) {
    case "google.protobuf.StringValue":
      return bytes.length === 0 ? "" : decoder.decode(bytes.subarray(1 + varintLength(bytes, 1)));
    case "google.protobuf.FloatValue":
      return bytes.length === 0 ? 0 : new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getFloat32(0, true);
    case "google.protobuf.BoolValue":
      return bytes.length === 0 ? false : bytes[1] === 1;
    case "google.protobuf.Int32Value":
    case "google.protobuf.Int64Value":
      return bytes.length === 0 ? 0 : Number(readVarint(bytes, 1));
    default:
      return undefined;
  }
}

function field(tag: number, bytes: Uint8Array): Uint8Array {
  const length = varint(bytes.length);
  const out = new Uint8Array(1 + length.length + bytes.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(bytes, 1 + length.length);
  return out;
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function varintLength(bytes: Uint8Array, at: number): number {
  let i = at;
  while (i < bytes.length && (bytes[i]! & 0x80) !== 0) i++;
  return i - at + 1;
}

function readVarint(bytes: Uint8Array, at: number): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = at; i < bytes.length; i++) {
    result |= BigInt(bytes[i]! & 0x7f) << shift;
    if ((bytes[i]! & 0x80) === 0) break;
    shift += 7n;
  }
  return BigInt.asIntN(64, result);
}
