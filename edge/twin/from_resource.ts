/**
 * A Device custom resource (devices.kubeedge.io/v1beta1) as the DeviceSpec applyMembership takes: each
 * `spec.properties[].desired.value` becomes an expected value, typed from the DeviceModel's property types.
 */
import * as v from "valibot";
import { describeIssues } from "../../lib/protocol/mod.ts";
import type { DeviceSpec, Twins } from "./types.ts";

const DeviceSchema = v.object({
  metadata: v.object({ name: v.string(), namespace: v.optional(v.string(), "default") }),
  spec: v.optional(
    v.object({
      properties: v.optional(
        v.array(v.object({
          name: v.string(),
          desired: v.optional(v.object({ value: v.optional(v.string()) })),
        })),
        [],
      ),
    }),
    {},
  ),
});

const ModelSchema = v.object({
  spec: v.optional(
    v.object({
      properties: v.optional(v.array(v.object({ name: v.string(), type: v.optional(v.string()) })), []),
    }),
    {},
  ),
});

/** Throws TypeError when `device` (or `model`) is not shaped like the CRD. */
export function deviceSpecFromResource(device: unknown, model?: unknown): DeviceSpec {
  const parsed = v.safeParse(DeviceSchema, device);
  if (!parsed.success) throw new TypeError(`Cannot read Device: ${describeIssues(parsed.issues)}`);
  const types = new Map<string, string>();
  if (model !== undefined) {
    const m = v.safeParse(ModelSchema, model);
    if (!m.success) throw new TypeError(`Cannot read DeviceModel: ${describeIssues(m.issues)}`);
    for (const p of m.output.spec.properties) if (p.type) types.set(p.name, p.type.toLowerCase());
  }
  const twin: Twins = {};
  for (const property of parsed.output.spec.properties) {
    const type = types.get(property.name) ?? "string";
    const value = property.desired?.value;
    twin[property.name] = {
      optional: true,
      metadata: { type },
      ...(value !== undefined ? { expected: { value } } : {}),
    };
  }
  const { name, namespace } = parsed.output.metadata;
  return { namespace, name, twin };
}
