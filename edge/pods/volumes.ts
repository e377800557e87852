/**
 * Pod volumes on the node, under `<podDir>/volumes/<kind>/<name>`: emptyDir folders, hostPath as given,
 * configMap / secret / downwardAPI / projected files (service-account tokens included) written atomically
 * with their modes. Called on every
 * sync, so a changed ConfigMap or Secret is rewritten in place (containers see it through `..data`). With
 * the pod's fsGroup, every volume but hostPath belongs to that group (volume_ownership.ts), and the files of
 * a service-account token are 0600 before it (0640 after) and owned by the pod's one user if it has one.
 */
import { join } from "node:path";
import { type FileEntry, writeAtomically } from "./atomic_writer.ts";
import { fieldValue, type PodContext } from "./field_ref.ts";
import { configMapBytes, type ObjectLookup, secretBytes } from "./objects.ts";
import type { VolumeSpec } from "./pod_schema.ts";
import { setUpEmptyDir } from "./empty_dir.ts";
import { containerNamed, type ResourceFieldRef, resourceFieldValue } from "./resource_field.ts";
import { fsUserOf, setVolumeOwnership } from "./volume_ownership.ts";

const DEFAULT_MODE = 0o644;
/** The apiserver's default expirationSeconds of a projected service-account token. */
const DEFAULT_TOKEN_SECONDS = 3600;

/** A volume that cannot be set up; the pod waits (reason CreateContainerConfigError). */
export class VolumeError extends Error {
  override readonly name = "VolumeError";
}

/** Volume name -> host path. */
export type VolumePaths = Map<string, string>;

export async function prepareVolumes(
  ctx: PodContext,
  podDir: string,
  objects: ObjectLookup,
): Promise<VolumePaths> {
  const paths: VolumePaths = new Map();
  for (const volume of ctx.pod.spec.volumes ?? []) {
    paths.set(volume.name, await prepareVolume(ctx, podDir, objects, volume));
  }
  return paths;
}

async function prepareVolume(ctx: PodContext, podDir: string, objects: ObjectLookup, volume: VolumeSpec) {
  const dir = (kind: string) => join(podDir, "volumes", kind, volume.name);
  const fsGroup = ctx.pod.spec.securityContext?.fsGroup;
  // Every volume kind written here is read-only to its containers: the group gets read bits only.
  const setPerms = fsGroup === undefined
    ? undefined
    : (path: string) => setVolumeOwnership(path, fsGroup, true);
  if (volume.hostPath) {
    const { path, type } = volume.hostPath;
    if (type === "DirectoryOrCreate") await Deno.mkdir(path, { recursive: true, mode: 0o755 });
    else if (type === "FileOrCreate") {
      await Deno.writeFile(path, new Uint8Array(), { create: true, append: true, mode: DEFAULT_MODE });
    } else if (type === "Directory" || type === "File") {
      const info = await Deno.stat(path).catch(() => undefined);
      if (!info || (type === "Directory" ? !info.isDirectory : !info.isFile)) {
        throw new VolumeError(`Cannot mount hostPath ${volume.name}: ${path} is not a ${type.toLowerCase()}`);
      }
    }
    return path;
  }
  if (volume.configMap) {
    const { name = "", items, defaultMode, optional } = volume.configMap;
    const cm = await objects.configMap(ctx.namespace, name);
    if (!cm && !optional) {
      throw new VolumeError(`Cannot mount configMap ${volume.name}: configmap "${name}" not found`);
    }
    const files = keyFiles(volume.name, cm ? configMapBytes(cm) : new Map(), items, defaultMode, optional);
    await writeAtomically(dir("configmap"), files, setPerms);
    return dir("configmap");
  }
  if (volume.secret) {
    const { secretName = "", items, defaultMode, optional } = volume.secret;
    const secret = await objects.secret(ctx.namespace, secretName);
    if (!secret && !optional) {
      throw new VolumeError(`Cannot mount secret ${volume.name}: secret "${secretName}" not found`);
    }
    const files = keyFiles(
      volume.name,
      secret ? secretBytes(secret) : new Map(),
      items,
      defaultMode,
      optional,
    );
    await writeAtomically(dir("secret"), files, setPerms);
    return dir("secret");
  }
  if (volume.downwardAPI) {
    await writeAtomically(
      dir("downward-api"),
      downwardFiles(ctx, volume.downwardAPI.items, volume.downwardAPI.defaultMode),
      setPerms,
    );
    return dir("downward-api");
  }
  if (volume.projected) {
    const files: FileEntry[] = [];
    const mode = volume.projected.defaultMode;
    for (const source of volume.projected.sources ?? []) {
      if (source.configMap) {
        const cm = await objects.configMap(ctx.namespace, source.configMap.name ?? "");
        if (!cm && !source.configMap.optional) {
          throw new VolumeError(
            `Cannot mount projected ${volume.name}: configmap "${source.configMap.name}" not found`,
          );
        }
        files.push(
          ...keyFiles(volume.name, cm ? configMapBytes(cm) : new Map(), source.configMap.items, mode, true),
        );
      }
      if (source.secret) {
        const secret = await objects.secret(ctx.namespace, source.secret.name ?? "");
        if (!secret && !source.secret.optional) {
          throw new VolumeError(
            `Cannot mount projected ${volume.name}: secret "${source.secret.name}" not found`,
          );
        }
        files.push(
          ...keyFiles(volume.name, secret ? secretBytes(secret) : new Map(), source.secret.items, mode, true),
        );
      }
      if (source.downwardAPI) files.push(...downwardFiles(ctx, source.downwardAPI.items, mode));
      if (source.serviceAccountToken) {
        const { path, audience, expirationSeconds } = source.serviceAccountToken;
        const token = await tokenFile(
          ctx,
          objects,
          dir("projected"),
          volume.name,
          path,
          audience,
          expirationSeconds,
        );
        // As the kubelet: with an fsGroup or one user for the pod, 0600 (0640 once the group is set).
        const fsUser = fsUserOf(ctx.pod.spec);
        const owned = fsUser !== undefined || fsGroup !== undefined;
        files.push({ path, data: token, mode: owned ? 0o600 : mode ?? DEFAULT_MODE, uid: fsUser });
      }
    }
    await writeAtomically(dir("projected"), files, setPerms);
    return dir("projected");
  }
  // emptyDir, and any volume kind not supported here, is an empty folder.
  const path = dir("empty-dir");
  try {
    await setUpEmptyDir(podDir, path, volume, fsGroup);
  } catch (err) {
    const medium = volume.emptyDir?.medium === "Memory" ? " in memory" : "";
    throw new VolumeError(`Cannot mount emptyDir ${volume.name}${medium}: ${(err as Error).message}`);
  }
  return path;
}

/**
 * The token a serviceAccountToken source projects. Without the cloud (or across an edgecore restart while it
 * is away) the token already in the volume serves until a fresh one comes.
 */
async function tokenFile(
  ctx: PodContext,
  objects: ObjectLookup,
  volumeDir: string,
  volume: string,
  path: string,
  audience: string | undefined,
  expirationSeconds: number | undefined,
): Promise<Uint8Array> {
  const serviceAccount = ctx.pod.spec.serviceAccountName || "default";
  const grant = await objects.serviceAccountToken?.({
    namespace: ctx.namespace,
    serviceAccount,
    audiences: audience ? [audience] : [],
    expirationSeconds: expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
    pod: { name: ctx.pod.metadata.name, uid: ctx.uid },
  });
  if (grant) return new TextEncoder().encode(grant.token);
  const held = await Deno.readFile(join(volumeDir, path)).catch(() => undefined);
  if (held && held.length > 0) return held;
  throw new VolumeError(
    `Cannot mount projected ${volume}: no token for service account ${ctx.namespace}/${serviceAccount} (the cloud did not give one)`,
  );
}

function keyFiles(
  volume: string,
  data: Map<string, Uint8Array>,
  items: { key: string; path: string; mode?: number }[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
): FileEntry[] {
  const mode = defaultMode ?? DEFAULT_MODE;
  if (!items) return [...data].map(([key, bytes]) => ({ path: key, data: bytes, mode }));
  const out: FileEntry[] = [];
  for (const item of items) {
    const bytes = data.get(item.key);
    if (!bytes) {
      if (optional) continue;
      throw new VolumeError(`Cannot mount ${volume}: key "${item.key}" not found`);
    }
    out.push({ path: item.path, data: bytes, mode: item.mode ?? mode });
  }
  return out;
}

function downwardFiles(
  ctx: PodContext,
  items: DownwardItem[] | undefined,
  defaultMode: number | undefined,
): FileEntry[] {
  const enc = new TextEncoder();
  return (items ?? []).flatMap((item) => {
    const mode = item.mode ?? defaultMode ?? DEFAULT_MODE;
    if (item.fieldRef) {
      return [{ path: item.path, data: enc.encode(fieldValue(ctx, item.fieldRef.fieldPath)), mode }];
    }
    if (!item.resourceFieldRef) return [];
    const ref = item.resourceFieldRef;
    let value: string;
    try {
      value = resourceFieldValue(ctx, containerNamed(ctx, ref.containerName), ref);
    } catch (err) {
      throw new VolumeError(`Cannot write downward API file ${item.path}: ${(err as Error).message}`);
    }
    return [{ path: item.path, data: enc.encode(value), mode }];
  });
}

/** A downwardAPI volume item: a field of the pod or a resource of one of its containers. */
interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: ResourceFieldRef;
  mode?: number;
}

/** Whether the pod's volumes read `kind` `name` (so a change to it means a resync). */
export function podUsesObject(
  volumes: VolumeSpec[] | undefined,
  kind: "ConfigMap" | "Secret",
  name: string,
): boolean {
  for (const v of volumes ?? []) {
    if (kind === "ConfigMap" && v.configMap?.name === name) return true;
    if (kind === "Secret" && v.secret?.secretName === name) return true;
    for (const s of v.projected?.sources ?? []) {
      if (kind === "ConfigMap" && s.configMap?.name === name) return true;
      if (kind === "Secret" && s.secret?.name === name) return true;
    }
  }
  return false;
}
