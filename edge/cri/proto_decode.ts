/**
 * The decoding half of proto_codec.ts, made for the relist: every second edgecore decodes the list of every
 * sandbox and container (75 KB at 100 pods), in V8's lite mode, which interprets and never optimizes. So each
 * field's type is resolved once into a numeric kind (no string compares per value), every value is read
 * without allocating beyond the value itself, and short ASCII strings skip the decoder call.
 */

/** Value kinds, as plain numbers: what the interpreter compares fastest. */
export const Kind = {
  String: 0,
  Bytes: 1,
  Bool: 2,
  Int32: 3,
  Uint32: 4,
  Int64: 5,
  Uint64: 6,
  Enum: 7,
  Message: 8,
} as const;
export type Kind = typeof Kind[keyof typeof Kind];
const STRING = 0, BYTES = 1, BOOL = 2, INT32 = 3, UINT32 = 4, INT64 = 5, UINT64 = 6, MESSAGE = 8;

/** How one value is read: its kind, and the enum's names or the message's plan. */
export interface ValueType {
  kind: Kind;
  enumNames?: Record<number, string>;
  plan?: DecodePlan;
}

export interface DecodeField {
  readonly name: string;
  readonly repeated: boolean;
  readonly value: ValueType;
  /** Set for map fields: the key's type. */
  readonly key?: ValueType;
  /** What an absent singular field decodes to. */
  zero: unknown;
}

export interface DecodePlan {
  readonly fields: DecodeField[];
  readonly byId: (DecodeField | undefined)[];
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;
const NO_BYTES = new Uint8Array(0);
const decoder = new TextDecoder("utf-8", { fatal: true });
const NOT_ASCII = /[\u0080-\u00ff]/;

export function zeroOf(type: ValueType): unknown {
  switch (type.kind) {
    case STRING:
      return "";
    case BYTES:
      return NO_BYTES;
    case BOOL:
      return false;
    case 7:
      return type.enumNames?.[0] ?? 0;
    case MESSAGE:
      return null;
    default:
      return 0;
  }
}

export function isPacked(kind: Kind): boolean {
  return kind !== STRING && kind !== BYTES && kind !== MESSAGE;
}

/** Decodes the message that runs from the reader's position to `end`. */
export function decodeMessage(plan: DecodePlan, r: Reader, end: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    object[f.name] = f.key ? {} : f.repeated ? [] : f.zero;
  }
  while (r.pos < end) {
    const tag = r.uint32(end);
    const wire = tag & 7;
    const f = plan.byId[tag >>> 3];
    if (f === undefined) {
      r.skip(wire, end);
    } else if (f.key) {
      const entryEnd = r.length(end);
      let k: unknown = zeroOf(f.key);
      let v: unknown = zeroOf(f.value);
      while (r.pos < entryEnd) {
        const entryTag = r.uint32(entryEnd);
        if (entryTag >>> 3 === 1) k = readValue(f.key, entryTag & 7, r, entryEnd);
        else if (entryTag >>> 3 === 2) v = readValue(f.value, entryTag & 7, r, entryEnd);
        else r.skip(entryTag & 7, entryEnd);
      }
      (object[f.name] as Record<string, unknown>)[String(k)] = v;
    } else if (f.repeated) {
      const list = object[f.name] as unknown[];
      if (wire === LENGTH && isPacked(f.value.kind)) {
        const packedEnd = r.length(end);
        while (r.pos < packedEnd) list.push(readValue(f.value, VARINT, r, packedEnd));
      } else list.push(readValue(f.value, wire, r, end));
    } else {
      object[f.name] = readValue(f.value, wire, r, end);
    }
  }
  return object;
}

function readValue(type: ValueType, wire: number, r: Reader, end: number): unknown {
  const kind = type.kind;
  if (kind === STRING || kind === BYTES || kind === MESSAGE) {
    if (wire !== LENGTH) {
      throw new Error(`Cannot decode protobuf: wire type ${wire} for a length-delimited field`);
    }
    const valueEnd = r.length(end);
    const start = r.pos;
    if (kind === MESSAGE) return decodeMessage(type.plan!, r, valueEnd);
    r.pos = valueEnd;
    return kind === STRING ? readString(r.buf, start, valueEnd) : r.buf.slice(start, valueEnd);
  }
  if (wire !== VARINT) throw new Error(`Cannot decode protobuf: wire type ${wire} for a varint field`);
  const lo = r.varint(end);
  const hi = r.hi;
  switch (kind) {
    case BOOL:
      return lo !== 0 || hi !== 0;
    case INT32:
      return lo | 0;
    case UINT32:
      return lo;
    case UINT64:
      return hi * 4294967296 + lo;
    case INT64:
      return hi < 0x80000000
        ? hi * 4294967296 + lo
        : Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
    default: {
      const n = lo | 0;
      return type.enumNames![n] ?? n;
    }
  }
}

/** UTF-8 to a string: short ASCII, most of what CRI sends (ids, names, labels), without a decoder call. */
function readString(buf: Uint8Array, start: number, end: number): string {
  if (end === start) return "";
  if (end - start <= 256) {
    const latin1 = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
    if (!NOT_ASCII.test(latin1)) return latin1;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** Reads a buffer; every read is bounded by the `end` of the message it is in. */
export class Reader {
  pos = 0;
  /** The high 32 bits of the last varint read (`varint` returns the low ones). */
  hi = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint's low 32 bits, unsigned; its high ones in `hi`. */
  varint(end: number): number {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= end) throw new Error("Cannot decode protobuf: truncated varint");
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 32) {
        lo |= bits << shift;
        if (shift === 28) hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (b < 0x80) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new Error("Cannot decode protobuf: varint longer than 10 bytes");
  }

  /** A tag or a length: one byte most of the time. */
  uint32(end: number): number {
    if (this.pos < end) {
      const b = this.buf[this.pos]!;
      if (b < 0x80) {
        this.pos++;
        this.hi = 0;
        return b;
      }
    }
    return this.varint(end);
  }

  /** A length prefix; returns where the value it prefixes ends. */
  length(end: number): number {
    const length = this.uint32(end);
    if (length > end - this.pos) throw new Error("Cannot decode protobuf: field past the end");
    return this.pos + length;
  }

  skip(wire: number, end: number): void {
    if (wire === VARINT) this.varint(end);
    else if (wire === LENGTH) this.pos = this.length(end);
    else if (wire === FIXED64 || wire === FIXED32) {
      const n = wire === FIXED64 ? 8 : 4;
      if (n > end - this.pos) throw new Error("Cannot decode protobuf: field past the end");
      this.pos += n;
    } else throw new Error(`Cannot decode protobuf: wire type ${wire}`);
  }
}
