/**
 * Protobuf (proto3) for plain objects, driven by the descriptor proto_json.ts reads from proto.ts: what
 * @grpc/proto-loader gave the CRI client with `{ longs: Number, enums: String, defaults: true }`, without
 * loading protobufjs (an idle edgecore held about 2.5 MiB more with it: bench/README.md).
 * - Decoding gives every field: absent scalars as their zero value, enums by name (an unknown number as the
 *   number), 64-bit integers as Numbers (past 2^53 they round, as protobufjs's `longs: Number` did), bytes as
 *   Uint8Array, absent messages as null, repeated fields as [], maps as {}. Unknown fields are skipped; a
 *   truncated or malformed message throws.
 * - Encoding leaves out zero values and null/undefined (proto3), takes enums by name or number and packs
 *   repeated scalars. A value of the wrong kind throws ("Cannot encode ...").
 */
import {
  type DecodeField,
  decodeMessage,
  type DecodePlan,
  Kind,
  Reader,
  type ValueType,
  zeroOf,
} from "./proto_decode.ts";
import type { JsonField, JsonNested, ProtoJson } from "./proto_json.ts";

type Scalar = "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64";
const SCALARS = new Set<string>(["string", "bytes", "bool", "int32", "int64", "uint32", "uint64"]);
const SCALAR_KINDS: Record<string, Kind> = {
  string: Kind.String,
  bytes: Kind.Bytes,
  bool: Kind.Bool,
  int32: Kind.Int32,
  uint32: Kind.Uint32,
  int64: Kind.Int64,
  uint64: Kind.Uint64,
};
const VARINT = 0;
const LENGTH = 2;
const encoder = new TextEncoder();

interface Field {
  readonly name: string;
  readonly id: number;
  readonly repeated: boolean;
  /** A scalar type name, or a message or enum of the package. */
  readonly type: string;
  /** Set for map<string, V> fields. */
  readonly keyType?: string;
}

type Values = { readonly names: Record<number, string>; readonly numbers: Record<string, number> };

/** A message's fields, and the same by field number for decoding. */
interface Plan {
  readonly fields: Field[];
  readonly byId: (Field | undefined)[];
}

export class ProtoCodec {
  readonly #messages = new Map<string, Plan>();
  readonly #enums = new Map<string, Values>();
  readonly #decodePlans = new Map<string, DecodePlan>();

  constructor(descriptor: ProtoJson) {
    const walk = (nested: Record<string, JsonNested>) => {
      for (const [name, type] of Object.entries(nested)) {
        if ("nested" in type) walk(type.nested);
        else if ("fields" in type) this.#messages.set(name, planOf(type.fields));
        else if ("values" in type) {
          const names: Record<number, string> = {};
          for (const [k, v] of Object.entries(type.values)) names[v] ??= k;
          this.#enums.set(name, { names, numbers: type.values });
        }
      }
    };
    walk(descriptor.nested);
    for (const name of this.#messages.keys()) this.#decodePlans.set(name, { fields: [], byId: [] });
    for (const [name, plan] of this.#messages) {
      const decodePlan = this.#decodePlans.get(name)!;
      for (const field of plan.fields) {
        const value = this.#valueType(field.type);
        const key = field.keyType ? this.#valueType(field.keyType) : undefined;
        const decodeField: DecodeField = {
          name: field.name,
          repeated: field.repeated,
          value,
          ...(key ? { key } : {}),
          zero: zeroOf(value),
        };
        decodePlan.fields.push(decodeField);
        decodePlan.byId[field.id] = decodeField;
      }
    }
  }

  #valueType(type: string): ValueType {
    const scalar = SCALAR_KINDS[type];
    if (scalar !== undefined) return { kind: scalar };
    const values = this.#enums.get(type);
    if (values) return { kind: Kind.Enum, enumNames: values.names };
    const plan = this.#decodePlans.get(type);
    if (!plan) throw new Error(`Cannot use type ${type}: not in the descriptor`);
    return { kind: Kind.Message, plan };
  }

  encode(message: string, value: Record<string, unknown>): Uint8Array {
    const out = new Writer();
    this.#encodeInto(out, this.#plan(message).fields, value, message);
    return out.finish();
  }

  decode<T = Record<string, unknown>>(message: string, bytes: Uint8Array): T {
    const plan = this.#decodePlans.get(message);
    if (!plan) throw new Error(`Cannot use message ${message}: not in the descriptor`);
    return decodeMessage(plan, new Reader(bytes), bytes.length) as T;
  }

  #plan(message: string): Plan {
    const plan = this.#messages.get(message);
    if (!plan) throw new Error(`Cannot use message ${message}: not in the descriptor`);
    return plan;
  }

  #encodeInto(out: Writer, fields: Field[], value: Record<string, unknown>, where: string): void {
    for (const field of fields) {
      const v = value[field.name];
      if (v === undefined || v === null) continue;
      const at = `${where}.${field.name}`;
      if (field.keyType) {
        if (typeof v !== "object") throw new TypeError(`Cannot encode ${at}: an object expected`);
        for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
          const entry = new Writer();
          this.#encodeValue(entry, 1, field.keyType, key, at);
          this.#encodeValue(entry, 2, field.type, item, at);
          out.bytes(field.id, entry.finish());
        }
      } else if (field.repeated) {
        if (!Array.isArray(v)) throw new TypeError(`Cannot encode ${at}: an array expected`);
        if (isPackable(field.type, this.#enums)) {
          if (v.length === 0) continue;
          const packed = new Writer();
          for (const item of v) packed.varint(this.#varintOf(field.type, item, at));
          out.bytes(field.id, packed.finish());
        } else for (const item of v) this.#encodeValue(out, field.id, field.type, item, at, true);
      } else this.#encodeValue(out, field.id, field.type, v, at);
    }
  }

  #encodeValue(out: Writer, id: number, type: string, v: unknown, at: string, always = false): void {
    if (type === "string") {
      if (typeof v !== "string") throw new TypeError(`Cannot encode ${at}: a string expected`);
      if (v !== "" || always) out.bytes(id, encoder.encode(v));
    } else if (type === "bytes") {
      if (!(v instanceof Uint8Array)) throw new TypeError(`Cannot encode ${at}: bytes expected`);
      if (v.length > 0 || always) out.bytes(id, v);
    } else if (SCALARS.has(type) || this.#enums.has(type)) {
      const n = this.#varintOf(type, v, at);
      if (n !== 0 || always) {
        out.tag(id, VARINT);
        out.varint(n);
      }
    } else {
      if (typeof v !== "object" || v === null) throw new TypeError(`Cannot encode ${at}: an object expected`);
      const inner = new Writer();
      this.#encodeInto(inner, this.#plan(type).fields, v as Record<string, unknown>, type);
      out.bytes(id, inner.finish());
    }
  }

  #varintOf(type: string, v: unknown, at: string): number {
    const values = this.#enums.get(type);
    if (values) {
      if (typeof v === "number" && Number.isInteger(v)) return v;
      const n = typeof v === "string" ? values.numbers[v] : undefined;
      if (n === undefined) throw new TypeError(`Cannot encode ${at}: ${String(v)} is not a ${type}`);
      return n;
    }
    if (type === "bool") {
      if (typeof v !== "boolean") throw new TypeError(`Cannot encode ${at}: a boolean expected`);
      return v ? 1 : 0;
    }
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      throw new TypeError(`Cannot encode ${at}: an integer expected, not ${String(v)}`);
    }
    if (type === "uint32" || type === "uint64") {
      if (n < 0) throw new RangeError(`Cannot encode ${at}: ${n} is negative`);
    }
    return n;
  }
}

function planOf(json: Record<string, JsonField>): Plan {
  const fields: Field[] = Object.entries(json).map(([name, f]) => ({
    name,
    id: f.id,
    repeated: f.rule === "repeated",
    type: shortName(f.type),
    ...(f.keyType ? { keyType: f.keyType } : {}),
  }));
  const byId: (Field | undefined)[] = [];
  for (const field of fields) byId[field.id] = field;
  return { fields, byId };
}

function shortName(type: string): string {
  return type.slice(type.lastIndexOf(".") + 1);
}

function isPackable(type: string, enums: Map<string, Values>): boolean {
  return (SCALARS.has(type) && type !== "string" && type !== "bytes") || enums.has(type);
}

class Writer {
  #buf = new Uint8Array(64);
  #pos = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  tag(id: number, wire: number): void {
    this.varint(id * 8 + wire);
  }

  /** A varint of an integer; a negative one as its 64-bit two's complement (10 bytes), as protobuf does. */
  varint(n: number): void {
    this.#room(10);
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
      while (n >= 0x80) {
        this.#buf[this.#pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      this.#buf[this.#pos++] = n;
      return;
    }
    let big = BigInt.asUintN(64, BigInt(n));
    while (big >= 0x80n) {
      this.#buf[this.#pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.#buf[this.#pos++] = Number(big);
  }

  bytes(id: number, value: Uint8Array): void {
    this.tag(id, LENGTH);
    this.varint(value.length);
    this.#room(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}
