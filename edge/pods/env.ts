/**
 * A container's environment: literal values, ConfigMap/Secret keys, the downward API, $(VAR) expansion, and
 * the service variables (service_env.ts) under everything the container sets itself, as the kubelet's
 * makeEnvironmentVariables orders them.
 */
import { fieldValue, type PodContext } from "./field_ref.ts";
import { configMapBytes, type ObjectLookup, secretBytes } from "./objects.ts";
import type { ContainerSpec } from "./pod_schema.ts";
import { resourceFieldValue } from "./resource_field.ts";

/** A reference that cannot be resolved; the container waits with reason CreateContainerConfigError. */
export class ConfigError extends Error {
  override readonly name = "CreateContainerConfigError";
}

export async function resolveEnv(
  ctx: PodContext,
  container: ContainerSpec,
  objects: ObjectLookup,
  /** The service variables (service_env.ts): $(VAR) in env values sees them; the container's own win. */
  serviceEnv: ReadonlyMap<string, string> = new Map(),
): Promise<{ key: string; value: string }[]> {
  const out = new Map<string, string>();
  const decoder = new TextDecoder();
  // envFrom first, so that env entries of the same name win, as in the kubelet.
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? "configmap" : "secret";
    if (!ref) continue;
    const name = ref.name ?? "";
    const object = kind === "configmap"
      ? await objects.configMap(ctx.namespace, name)
      : await objects.secret(ctx.namespace, name);
    if (!object) {
      if (ref.optional) continue;
      throw new ConfigError(`Cannot set env from ${kind} "${name}": not found`);
    }
    const data = kind === "configmap" ? configMapBytes(object) : secretBytes(object);
    for (const [key, bytes] of data) {
      // A name with "=" cannot be passed to a process; the kubelet leaves such keys out too.
      const variable = `${from.prefix ?? ""}${key}`;
      if (variable && !variable.includes("=")) out.set(variable, decoder.decode(bytes));
    }
  }
  for (const env of container.env ?? []) {
    const from = env.valueFrom;
    if (!from) {
      out.set(env.name, expand(env.value ?? "", out, serviceEnv));
    } else if (from.configMapKeyRef) {
      const { name = "", key, optional } = from.configMapKeyRef;
      const cm = await objects.configMap(ctx.namespace, name);
      const bytes = cm ? configMapBytes(cm).get(key) : undefined;
      if (bytes) out.set(env.name, decoder.decode(bytes));
      else if (!optional) {
        throw new ConfigError(`Cannot set env ${env.name}: configmap "${name}" key "${key}" not found`);
      }
    } else if (from.secretKeyRef) {
      const { name = "", key, optional } = from.secretKeyRef;
      const secret = await objects.secret(ctx.namespace, name);
      const bytes = secret ? secretBytes(secret).get(key) : undefined;
      if (bytes) out.set(env.name, decoder.decode(bytes));
      else if (!optional) {
        throw new ConfigError(`Cannot set env ${env.name}: secret "${name}" key "${key}" not found`);
      }
    } else if (from.fieldRef) {
      try {
        out.set(env.name, fieldValue(ctx, from.fieldRef.fieldPath));
      } catch (err) {
        throw new ConfigError(`Cannot set env ${env.name}: ${(err as Error).message}`);
      }
    } else if (from.resourceFieldRef) {
      try {
        out.set(env.name, resourceFieldValue(ctx, container, from.resourceFieldRef));
      } catch (err) {
        throw new ConfigError(`Cannot set env ${env.name}: ${(err as Error).message}`);
      }
    }
  }
  const result = [...out].map(([key, value]) => ({ key, value }));
  for (const [key, value] of serviceEnv) if (!out.has(key)) result.push({ key, value });
  return result;
}

/**
 * Expands `$(NAME)` from `vars`, then `fallback`, as the kubelet does (MappingFuncFor(tmpEnv, serviceEnv));
 * `$$(NAME)` stays literal `$(NAME)`.
 */
export function expand(
  text: string,
  vars: ReadonlyMap<string, string>,
  fallback?: ReadonlyMap<string, string>,
): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === "$$") return "$";
    if (name === undefined) return match;
    return vars.get(name) ?? fallback?.get(name) ?? match;
  });
}
