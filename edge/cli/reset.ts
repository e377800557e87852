// `edgecore reset [--root DIR] [--force]`: removes what `edgecore join --install` and edgecore leave (the
// SQLite store with its -wal and -shm, the CA, certificate and key, the config, the unit) and nothing else.
// It never talks to containerd: containers, images and other tools' state stay as they are. It asks nothing.
import type { Logger } from "../../lib/log.ts";
import { DEFAULT_EDGECORE_CONFIG_PATH, type EdgeCoreConfig, loadEdgeCoreConfig } from "../config.ts";
import { configFiles, type EdgeFiles, joinFiles, underRoot } from "./paths.ts";
import { probeHealth } from "./status.ts";
import { SYSTEMD, type Systemd } from "./systemd.ts";
import { EDGECORE_UNIT_NAME } from "./unit.ts";

export interface ResetOptions {
  readonly root?: string;
  readonly configPath?: string;
  /** Reset even while an edgecore answers on its local server (without systemd to stop it). */
  readonly force?: boolean;
  readonly log: Logger;
  readonly print: (line: string) => void;
  readonly systemd?: Systemd;
  /** The local server's /status, for the running check. */
  readonly statusUrl?: string;
}

export interface ResetResult {
  readonly removed: string[];
  /** Set when it refused: edgecore is running. */
  readonly refused?: string;
}

/** Removes the files; throws Error only when a file exists and cannot be removed. */
export async function resetEdge(options: ResetOptions): Promise<ResetResult> {
  const root = options.root ?? "/";
  const systemd = options.systemd ?? SYSTEMD;
  const configPath = underRoot(root, options.configPath ?? DEFAULT_EDGECORE_CONFIG_PATH);
  const config = await readConfig(configPath, options.log);
  const withSystemd = await systemd.running(root);
  if (withSystemd) {
    // Stops edgecore itself only: KillMode=process leaves the containers to containerd.
    await systemd.systemctl(["disable", "--now", EDGECORE_UNIT_NAME]).catch((error) =>
      options.log.info("edgecore unit not disabled", { error })
    );
  } else if (!options.force && root === "/" && options.statusUrl !== undefined) {
    const health = await probeHealth(options.statusUrl);
    if (health.running) {
      const refused = `edgecore is running (${options.statusUrl} answers); stop it first, or pass --force`;
      return { removed: [], refused };
    }
  }
  const candidates: EdgeFiles[] = [joinFiles({ root, configPath })];
  if (config) candidates.unshift(configFiles(root, configPath, config));
  const paths = new Set<string>();
  for (const files of candidates) {
    for (const path of [files.dataSource, `${files.dataSource}-wal`, `${files.dataSource}-shm`]) {
      paths.add(path);
    }
    for (const path of [files.caFile, files.certFile, files.keyFile, files.config, files.unit]) {
      paths.add(path);
    }
  }
  const removed: string[] = [];
  for (const path of paths) {
    if (await removeFile(path)) {
      removed.push(path);
      options.print(`removed ${path}`);
    }
  }
  if (removed.length === 0) options.print("nothing to remove");
  if (withSystemd) await systemd.systemctl(["daemon-reload"]);
  return { removed };
}

/** The config when it can be read; a missing or broken one falls back to the default paths. */
async function readConfig(path: string, log: Logger): Promise<EdgeCoreConfig | undefined> {
  try {
    await Deno.stat(path);
  } catch {
    return undefined;
  }
  try {
    return (await loadEdgeCoreConfig(path)).config;
  } catch (error) {
    log.warn("config unreadable, removing the default paths", { path, error });
    return undefined;
  }
}

/** Removes a file or symlink; a folder is never removed. Returns whether something was removed. */
async function removeFile(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  if (info.isDirectory) return false;
  await Deno.remove(path);
  return true;
}
