/**
 * How the pod manager reads ConfigMaps and Secrets for volumes and env. edgecore wires one backed by its
 * store; tests pass a map. `watch` lets the manager rewrite volume files when an object changes.
 */
import type { ServiceInfo } from "./service_env.ts";

export interface ConfigMapData {
  data?: Record<string, string>;
  /** Values base64-encoded, as in the API. */
  binaryData?: Record<string, string>;
}

export interface SecretData {
  /** kubernetes.io/dockerconfigjson and the like: how imagePullSecrets are read (pull_secrets.ts). */
  type?: string;
  /** Values base64-encoded, as in the API. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export type ObjectKind = "ConfigMap" | "Secret";

/** A service-account token for a projected volume, bound to the pod that mounts it. */
export interface BoundTokenRequest {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly pod: { readonly name: string; readonly uid: string };
}

export interface ObjectLookup {
  configMap(namespace: string, name: string): Promise<ConfigMapData | undefined>;
  secret(namespace: string, name: string): Promise<SecretData | undefined>;
  /** The token for a projected serviceAccountToken source, or undefined when none can be had now. */
  serviceAccountToken?(request: BoundTokenRequest): Promise<{ readonly token: string } | undefined>;
  /**
   * The Services whose variables a container of a pod in `namespace` gets (service_env.ts): the namespace's
   * when `enableServiceLinks`, and default/kubernetes. Never throws: what cannot be had now is left out.
   */
  services?(namespace: string, enableServiceLinks: boolean): Promise<readonly ServiceInfo[]>;
  /** Calls `listener` when an object may have changed; returns a function that stops the calls. */
  watch?(listener: (kind: ObjectKind, namespace: string, name: string) => void): () => void;
}

/** A lookup that has nothing: every reference is missing. */
export const NO_OBJECTS: ObjectLookup = {
  configMap: () => Promise.resolve(undefined),
  secret: () => Promise.resolve(undefined),
};

/** Key -> bytes of a ConfigMap (data and binaryData). */
export function configMapBytes(cm: ConfigMapData): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, new TextEncoder().encode(v));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, decodeBase64(v));
  return out;
}

/** Key -> bytes of a Secret (data decoded, stringData winning as the API server merges it). */
export function secretBytes(secret: SecretData): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of Object.entries(secret.data ?? {})) out.set(k, decodeBase64(v));
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out.set(k, new TextEncoder().encode(v));
  return out;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
