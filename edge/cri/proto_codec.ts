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
import type { JsonField, JsonNested, ProtoJson } from "./proto_json.ts";

type Scalar = "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64";
const SCALARS = new Set<string>(["string", "bytes", "bool", "int32", "int64", "uint32", "uint64"]);
const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;
const NO_BYTES = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

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

export class ProtoCodec {
  readonly #messages = new Map<string, Field[]>();
  readonly #enums = new Map<string, Values>();

  constructor(descriptor: ProtoJson) {
    const walk = (nested: Record<string, JsonNested>) => {
      for (const [name, type] of Object.entries(nested)) {
        if ("nested" in type) walk(type.nested);
        else if ("fields" in type) this.#messages.set(name, fieldsOf(type.fields));
        else if ("values" in type) {
          const names: Record<number, string> = {};
          for (const [k, v] of Object.entries(type.values)) names[v] ??= k;
          this.#enums.set(name, { names, numbers: type.values });
        }
      }
    };
    walk(descriptor.nested);
  }

  encode(message: string, value: Record<string, unknown>): Uint8Array {
    const out = new Writer();
    this.#encodeInto(out, this.#fields(message), value, message);
    return out.finish();
  }

  decode<T = Record<string, unknown>>(message: string, bytes: Uint8Array): T {
    return this.#decode(message, new Reader(bytes, 0, bytes.length)) as T;
  }

  #fields(message: string): Field[] {
    const fields = this.#messages.get(message);
    if (!fields) throw new Error(`Cannot use message ${message}: not in the descriptor`);
    return fields;
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
      this.#encodeInto(inner, this.#fields(type), v as Record<string, unknown>, type);
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

  #decode(message: string, r: Reader): Record<string, unknown> {
    const fields = this.#fields(message);
    const object: Record<string, unknown> = {};
    const byId = new Map<number, Field>();
    for (const field of fields) {
      byId.set(field.id, field);
      object[field.name] = field.keyType ? {} : field.repeated ? [] : this.#zero(field.type);
    }
    while (r.pos < r.end) {
      const key = r.uint32();
      const id = key >>> 3;
      const wire = key & 7;
      const field = byId.get(id);
      if (!field) {
        r.skip(wire);
        continue;
      }
      if (field.keyType) {
        const entry = r.sub();
        let k: unknown = this.#zero(field.keyType);
        let v: unknown = this.#zero(field.type);
        while (entry.pos < entry.end) {
          const entryKey = entry.uint32();
          if (entryKey >>> 3 === 1) k = this.#decodeValue(field.keyType, entryKey & 7, entry);
          else if (entryKey >>> 3 === 2) v = this.#decodeValue(field.type, entryKey & 7, entry);
          else entry.skip(entryKey & 7);
        }
        (object[field.name] as Record<string, unknown>)[String(k)] = v;
      } else if (field.repeated) {
        const list = object[field.name] as unknown[];
        if (wire === LENGTH && isPackable(field.type, this.#enums)) {
          const packed = r.sub();
          while (packed.pos < packed.end) list.push(this.#decodeValue(field.type, VARINT, packed));
        } else list.push(this.#decodeValue(field.type, wire, r));
      } else object[field.name] = this.#decodeValue(field.type, wire, r);
    }
    return object;
  }

  #decodeValue(type: string, wire: number, r: Reader): unknown {
    if (type === "string" || type === "bytes" || !(SCALARS.has(type) || this.#enums.has(type))) {
      if (wire !== LENGTH) throw new Error(`Cannot decode a ${type}: wire type ${wire}`);
      if (type === "bytes") return r.bytes().slice();
      if (type === "string") return decoder.decode(r.bytes());
      return this.#decode(type, r.sub());
    }
    if (wire !== VARINT) throw new Error(`Cannot decode a ${type}: wire type ${wire}`);
    const [lo, hi] = r.varint();
    switch (type as Scalar) {
      case "bool":
        return lo !== 0 || hi !== 0;
      case "int32":
        return lo | 0;
      case "uint32":
        return lo;
      case "uint64":
        return hi * 2 ** 32 + lo;
      case "int64":
        return hi < 0x80000000
          ? hi * 2 ** 32 + lo
          : Number(BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)));
    }
    const n = lo | 0;
    return this.#enums.get(type)?.names[n] ?? n;
  }

  #zero(type: string): unknown {
    switch (type) {
      case "string":
        return "";
      case "bytes":
        return NO_BYTES;
      case "bool":
        return false;
    }
    if (SCALARS.has(type)) return 0;
    const values = this.#enums.get(type);
    if (values) return values.names[0] ?? 0;
    return null;
  }
}

function fieldsOf(fields: Record<string, JsonField>): Field[] {
  return Object.entries(fields).map(([name, f]) => ({
    name,
    id: f.id,
    repeated: f.rule === "repeated",
    type: shortName(f.type),
    ...(f.keyType ? { keyType: f.keyType } : {}),
  }));
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

class Reader {
  constructor(readonly buf: Uint8Array, public pos: number, readonly end: number) {}

  /** The varint's low and high 32 bits, both unsigned. */
  varint(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new Error("Cannot decode protobuf: truncated varint");
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (shift < 32) {
        lo |= bits << shift;
        if (shift === 28) hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    throw new Error("Cannot decode protobuf: varint longer than 10 bytes");
  }

  uint32(): number {
    return this.varint()[0];
  }

  bytes(): Uint8Array {
    const length = this.uint32();
    if (length > this.end - this.pos) throw new Error("Cannot decode protobuf: field past the end");
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }

  sub(): Reader {
    const inner = this.bytes();
    return new Reader(this.buf, inner.byteOffset - this.buf.byteOffset, this.pos);
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === LENGTH) this.bytes();
    else if (wire === FIXED64 || wire === FIXED32) {
      const n = wire === FIXED64 ? 8 : 4;
      if (n > this.end - this.pos) throw new Error("Cannot decode protobuf: field past the end");
      this.pos += n;
    } else throw new Error(`Cannot decode protobuf: wire type ${wire}`);
  }
}
