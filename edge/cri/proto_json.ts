/**
 * Turns the small proto3 text in proto.ts into the protobufjs JSON descriptor that @grpc/proto-loader's
 * `fromJSON` takes. Understands only what that text uses: one package, services with unary rpcs, top-level
 * messages with scalar, message, enum, `repeated` and `map<,>` fields, top-level enums, `//` comments.
 * Field names become lowerCamelCase, as proto-loader does for .proto files.
 */

export interface JsonField {
  type: string;
  id: number;
  rule?: "repeated";
  keyType?: string;
}
export interface JsonMessage {
  fields: Record<string, JsonField>;
}
export interface JsonEnum {
  values: Record<string, number>;
}
export interface JsonService {
  methods: Record<string, { requestType: string; responseType: string; comment: string }>;
}
export type JsonNested = JsonMessage | JsonEnum | JsonService | { nested: Record<string, JsonNested> };
export interface ProtoJson {
  nested: Record<string, JsonNested>;
}

const BLOCK = /\b(message|enum|service)\s+(\w+)\s*\{((?:[^{}]|\{\s*\})*)\}/g;
const FIELD = /^(repeated\s+)?(map<\s*(\w+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)$/;
const ENUM_VALUE = /^(\w+)\s*=\s*(\d+)$/;
const RPC = /^rpc\s+(\w+)\s*\(\s*(\w+)\s*\)\s*returns\s*\(\s*(\w+)\s*\)\s*\{\s*\}$/;

export function protoToJson(text: string): ProtoJson {
  const source = text.replace(/\/\/[^\n]*/g, "");
  const pkg = /\bpackage\s+([\w.]+)\s*;/.exec(source)?.[1];
  if (!pkg) throw new SyntaxError("Cannot parse proto: no package");
  const types: Record<string, JsonNested> = {};
  for (const [, kind, name = "", body = ""] of source.matchAll(BLOCK)) {
    if (name in types) throw new SyntaxError(`Cannot parse proto: ${name} defined twice`);
    const statements = body.split(/;|(?<=\{\s*\})/).map((s) => s.trim()).filter(Boolean);
    if (kind === "message") types[name] = { fields: fields(name, statements) };
    else if (kind === "enum") types[name] = { values: enumValues(name, statements) };
    else types[name] = { methods: methods(name, statements) };
  }
  let nested: Record<string, JsonNested> = types;
  for (const part of pkg.split(".").reverse()) nested = { [part]: { nested } };
  return { nested };
}

function fields(message: string, statements: string[]): Record<string, JsonField> {
  const out: Record<string, JsonField> = {};
  for (const statement of statements) {
    const m = FIELD.exec(statement.replace(/\s+/g, " "));
    if (!m) throw new SyntaxError(`Cannot parse proto: bad field in ${message}: ${statement}`);
    const [, repeated, type = "", keyType, valueType, name = "", id = ""] = m;
    const field: JsonField = { type: valueType ?? type, id: Number(id) };
    if (keyType) field.keyType = keyType;
    if (repeated) field.rule = "repeated";
    out[camel(name)] = field;
  }
  return out;
}

function enumValues(name: string, statements: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const statement of statements) {
    const m = ENUM_VALUE.exec(statement);
    if (!m) throw new SyntaxError(`Cannot parse proto: bad value in enum ${name}: ${statement}`);
    out[m[1] ?? ""] = Number(m[2]);
  }
  return out;
}

function methods(service: string, statements: string[]): JsonService["methods"] {
  const out: JsonService["methods"] = {};
  for (const statement of statements) {
    const m = RPC.exec(statement.replace(/\s+/g, " "));
    if (!m) throw new SyntaxError(`Cannot parse proto: bad rpc in ${service}: ${statement}`);
    out[m[1] ?? ""] = { requestType: m[2] ?? "", responseType: m[3] ?? "", comment: "" };
  }
  return out;
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
