/**
 * A pod's imagePullSecrets as registry credentials, as the kubelet's getPullSecretsForPod and
 * MakeDockerKeyring: secrets of type kubernetes.io/dockerconfigjson (`.dockerconfigjson`, its `auths`) and
 * kubernetes.io/dockercfg (`.dockercfg`) go into one keyring; other secrets are ignored. The secrets come
 * from the store (the cloud sends a pod's imagePullSecrets with it, cloud/controllers/pod_references.ts),
 * read once per sync and only when an image is pulled. Missing ones are a FailedToRetrieveImagePullSecret
 * event, and the pull goes on without them. Credentials are never logged nor put in an error.
 */
import { type DockerConfigEntry, DockerKeyring, type RegistryAuth } from "./docker_keyring.ts";
import type { PodEvents } from "./events.ts";
import type { PodContext } from "./field_ref.ts";
import { type ObjectLookup, secretBytes } from "./objects.ts";

/** The credentials to try for an image, in order; none: pull without. */
export type PullCredentials = (image: string) => Promise<readonly RegistryAuth[]>;

export const NO_CREDENTIALS: PullCredentials = () => Promise.resolve([]);

const DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson";
const DOCKER_CFG = "kubernetes.io/dockercfg";

/** The pod's pull credentials, its secrets read on the first call. */
export function podPullCredentials(
  ctx: PodContext,
  objects: ObjectLookup,
  event: PodEvents,
): PullCredentials {
  const names = (ctx.pod.spec.imagePullSecrets ?? []).map((s) => s.name ?? "").filter((n) => n !== "");
  if (names.length === 0) return NO_CREDENTIALS;
  let keyring: Promise<DockerKeyring> | undefined;
  return async (image) => {
    keyring ??= load(ctx.namespace, names, objects, event);
    return (await keyring).lookup(image);
  };
}

async function load(
  namespace: string,
  names: readonly string[],
  objects: ObjectLookup,
  event: PodEvents,
): Promise<DockerKeyring> {
  const keyring = new DockerKeyring();
  const missing: string[] = [];
  for (const name of names) {
    const secret = await objects.secret(namespace, name);
    if (!secret) {
      missing.push(name);
      continue;
    }
    const data = secretBytes(secret);
    const json = secret.type === DOCKER_CONFIG_JSON
      ? data.get(".dockerconfigjson")
      : secret.type === DOCKER_CFG
      ? data.get(".dockercfg")
      : undefined;
    if (!json || json.length === 0) continue;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(json)) as unknown;
      const config = secret.type === DOCKER_CONFIG_JSON ? (parsed as { auths?: unknown })?.auths : parsed;
      keyring.add(entries(config));
    } catch (err) {
      // The message says what is wrong with the secret's shape, never its content.
      const why = err instanceof TypeError ? err.message : "not JSON";
      throw new TypeError(`Cannot read image pull secret ${namespace}/${name}: ${why}`);
    }
  }
  if (missing.length > 0) {
    event(
      "Warning",
      "FailedToRetrieveImagePullSecret",
      `Unable to retrieve some image pull secrets (${
        missing.join(", ")
      }); attempting to pull the image may not succeed.`,
    );
  }
  return keyring;
}

/** A docker config's entries, each checked to be an object of strings. */
function entries(config: unknown): Record<string, DockerConfigEntry> {
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config)) throw new TypeError("not a docker config object");
  const out: Record<string, DockerConfigEntry> = {};
  for (const [location, value] of Object.entries(config)) {
    if (typeof value !== "object" || value === null) {
      throw new TypeError(`entry ${location} is not an object`);
    }
    const { username, password, auth } = value as Record<string, unknown>;
    const str = (v: unknown) => typeof v === "string" ? v : undefined;
    out[location] = { username: str(username), password: str(password), auth: str(auth) };
  }
  return out;
}
