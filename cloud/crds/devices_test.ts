import assert from "node:assert/strict";
import * as v from "valibot";
import { parse } from "yaml";
import { DEVICE_CRD_YAML, DEVICE_MODEL_CRD_YAML } from "./devices.ts";

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  required?: string[];
  additionalProperties?: Schema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

const CrdSchema = v.object({
  apiVersion: v.literal("apiextensions.k8s.io/v1"),
  kind: v.literal("CustomResourceDefinition"),
  metadata: v.object({ name: v.string() }),
  spec: v.object({
    group: v.literal("devices.kubeedge.io"),
    names: v.object({ kind: v.string(), listKind: v.string(), plural: v.string(), singular: v.string() }),
    scope: v.literal("Namespaced"),
    versions: v.tuple([v.object({
      name: v.literal("v1beta1"),
      served: v.literal(true),
      storage: v.literal(true),
      schema: v.object({ openAPIV3Schema: v.object({ type: v.literal("object") }) }),
    })]),
  }),
});

function crd(text: string) {
  const value = parse(text);
  const parsed = v.safeParse(CrdSchema, value);
  assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.issues.map((i) => i.message)));
  assert.equal(parsed.output.metadata.name, `${parsed.output.spec.names.plural}.${parsed.output.spec.group}`);
  return value.spec.versions[0].schema.openAPIV3Schema as Schema;
}

/** Structural: every node typed (or preserving unknown fields), objects spell out what they hold. */
function structuralProblems(schema: Schema, path = ""): string[] {
  if (schema["x-kubernetes-preserve-unknown-fields"]) return [];
  if (!schema.type) return [`${path}: no type`];
  if (schema.type === "array") {
    return schema.items ? structuralProblems(schema.items, `${path}[]`) : [`${path}: no items`];
  }
  if (schema.type !== "object") return [];
  if (schema.additionalProperties) return structuralProblems(schema.additionalProperties, `${path}.*`);
  return Object.entries(schema.properties ?? {}).flatMap(([k, s]) => structuralProblems(s, `${path}.${k}`));
}

/** A small OpenAPI v3 check, enough for the CRDs' types, enums and required fields. */
function validate(schema: Schema, value: unknown, path = "$"): string[] {
  if (schema["x-kubernetes-preserve-unknown-fields"] && schema.type === "object") {
    return typeof value === "object" && value !== null ? [] : [`${path}: not an object`];
  }
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} not in enum`];
  switch (schema.type) {
    case "string":
      return typeof value === "string" ? [] : [`${path}: not a string`];
    case "integer":
      return Number.isInteger(value) ? [] : [`${path}: not an integer`];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${path}: not a boolean`];
    case "array":
      return Array.isArray(value)
        ? value.flatMap((item, i) => validate(schema.items!, item, `${path}[${i}]`))
        : [`${path}: not an array`];
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return [`${path}: not an object`];
      }
      const record = value as Record<string, unknown>;
      const missing = (schema.required ?? []).filter((k) => !(k in record)).map((k) =>
        `${path}.${k}: required`
      );
      return [
        ...missing,
        ...Object.entries(record).flatMap(([k, item]) => {
          const sub = schema.properties?.[k] ?? schema.additionalProperties;
          if (!sub) return schema.properties && k !== "metadata" ? [`${path}.${k}: unknown field`] : [];
          return validate(sub, item, `${path}.${k}`);
        }),
      ];
    }
    default:
      return [];
  }
}

const model = {
  apiVersion: "devices.kubeedge.io/v1beta1",
  kind: "DeviceModel",
  metadata: { name: "thermometer", namespace: "default" },
  spec: {
    protocol: "modbus",
    properties: [{
      name: "temperature",
      type: "INT",
      accessMode: "ReadWrite",
      minimum: "-50",
      maximum: "150",
      unit: "C",
      visitors: { protocolName: "modbus", configData: { register: "HoldingRegister", offset: 2 } },
    }],
    protocolConfigData: { slaveID: 1 },
  },
};

const device = {
  apiVersion: "devices.kubeedge.io/v1beta1",
  kind: "Device",
  metadata: { name: "thermo-1", namespace: "default" },
  spec: {
    deviceModelRef: { name: "thermometer" },
    nodeName: "edge-1",
    protocol: { protocolName: "modbus", configData: { slaveID: 1 } },
    properties: [{
      name: "temperature",
      desired: { value: "25", metadata: { type: "int" } },
      visitors: { protocolName: "modbus", configData: { register: "HoldingRegister", offset: 2 } },
      reportCycle: 10000,
      collectCycle: 10000,
      reportToCloud: true,
      pushMethod: {
        mqtt: { address: "tcp://127.0.0.1:1883", topic: "t", qos: 0, retained: false },
        dbMethod: { influxdb2: { influxdb2ClientConfig: { url: "http://i", org: "o", bucket: "b" } } },
      },
    }],
    methods: [{ name: "set", description: "sets it", propertyNames: ["temperature"] }],
    stateReport: { reportCycle: 1000, reportToCloud: true },
  },
  status: {
    twins: [{ propertyName: "temperature", reported: { value: "21", metadata: { timestamp: "1" } } }],
    state: "online",
    lastOnlineTime: "2025-01-01T00:00:00Z",
  },
};

Deno.test("the DeviceModel CRD is a structural v1beta1 CustomResourceDefinition that accepts KubeEdge models", () => {
  const schema = crd(DEVICE_MODEL_CRD_YAML);
  assert.deepEqual(structuralProblems(schema), []);
  assert.deepEqual(validate(schema, model), []);
  const bad = structuredClone(model);
  bad.spec.properties[0]!.type = "INTEGER";
  assert.deepEqual(validate(schema, bad), ['$.spec.properties[0].type: "INTEGER" not in enum']);
});

Deno.test("the Device CRD is a structural v1beta1 CustomResourceDefinition with a status subresource", () => {
  const schema = crd(DEVICE_CRD_YAML);
  assert.deepEqual(parse(DEVICE_CRD_YAML).spec.versions[0].subresources, { status: {} });
  assert.deepEqual(structuralProblems(schema), []);
  assert.deepEqual(validate(schema, device), []);
  const bad = structuredClone(device) as unknown as {
    spec: { properties: Array<{ desired: { value: unknown } }> };
  };
  bad.spec.properties[0]!.desired.value = 25;
  assert.deepEqual(validate(schema, bad), ["$.spec.properties[0].desired.value: not a string"]);
});
