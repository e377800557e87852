// Secret `data` values travel base64-encoded; these turn them into bytes and back.
import { Buffer } from "node:buffer";
import type { V1Secret } from "@kubernetes/client-node";

/** The bytes under `key` in a Secret's data. Throws TypeError "Cannot read secret ..." when absent. */
export function secretBytes(secret: V1Secret, key: string): Uint8Array {
  const value = secret.data?.[key];
  const name = `${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`;
  if (value === undefined || value === "") throw new TypeError(`Cannot read secret ${name}: no key "${key}"`);
  return new Uint8Array(Buffer.from(value, "base64"));
}

/** Secret `data` from named byte strings. */
export function secretData(values: Readonly<Record<string, Uint8Array>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
}
