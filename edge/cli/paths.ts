// Where edgecore's files live, and `--root DIR`: every path edgecore's commands touch is taken relative to
// DIR (tests and image builds install into a folder), and the config written there names those paths, so
// `edgecore run --config DIR/etc/kubeedge/config/edgecore.yaml` runs from that folder.
import { basename, isAbsolute, join, resolve } from "node:path";
import { DEFAULT_EDGECORE_CONFIG_PATH, defaultEdgeCoreConfig, type EdgeCoreConfig } from "../config.ts";
import { EDGECORE_UNIT_PATH } from "./unit.ts";

/**
 * `path` under `root`. A path already inside `root` is kept (a config written under --root names such
 * paths); a relative path is resolved from the working directory first.
 */
export function underRoot(root: string, path: string): string {
  const absolute = isAbsolute(path) ? path : resolve(path);
  const base = resolve(root);
  if (base === "/") return absolute;
  if (absolute === base || absolute.startsWith(`${base}/`)) return absolute;
  return join(base, absolute);
}

export interface EdgeFiles {
  readonly config: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The SQLite store; its -wal and -shm files sit beside it. */
  readonly dataSource: string;
  readonly unit: string;
}

export interface EdgeFileFlags {
  readonly root?: string;
  readonly configPath?: string;
  /** One folder for the CA, certificate and key (edgecore join --cert-dir). */
  readonly certDir?: string;
  readonly dataSource?: string;
}

/** The files of a join under `flags.root` ("/" by default): the defaults, or what the flags name. */
export function joinFiles(flags: EdgeFileFlags): EdgeFiles {
  const root = flags.root ?? "/";
  const defaults = defaultEdgeCoreConfig();
  const hub = defaults.modules.edgeHub;
  const cert = (file: string) => underRoot(root, flags.certDir ? join(flags.certDir, basename(file)) : file);
  return {
    config: underRoot(root, flags.configPath ?? DEFAULT_EDGECORE_CONFIG_PATH),
    caFile: cert(hub.tlsCaFile),
    certFile: cert(hub.tlsCertFile),
    keyFile: cert(hub.tlsPrivateKeyFile),
    dataSource: underRoot(root, flags.dataSource ?? defaults.database.dataSource),
    unit: underRoot(root, EDGECORE_UNIT_PATH),
  };
}

/** The files a config names, under `root`. */
export function configFiles(root: string, configPath: string, config: EdgeCoreConfig): EdgeFiles {
  const hub = config.modules.edgeHub;
  return {
    config: configPath,
    caFile: underRoot(root, hub.tlsCaFile),
    certFile: underRoot(root, hub.tlsCertFile),
    keyFile: underRoot(root, hub.tlsPrivateKeyFile),
    dataSource: underRoot(root, config.database.dataSource),
    unit: underRoot(root, EDGECORE_UNIT_PATH),
  };
}

/** The folders edgecore's pods use, moved under `root` in a config written by `join --root`. */
export function rootedConfig(root: string, config: EdgeCoreConfig): EdgeCoreConfig {
  if (resolve(root) === "/") return config;
  const next = structuredClone(config);
  const edged = next.modules.edged;
  edged.rootDirectory = underRoot(root, edged.rootDirectory);
  edged.podLogsDirectory = underRoot(root, edged.podLogsDirectory);
  if (edged.staticPodPath !== "") edged.staticPodPath = underRoot(root, edged.staticPodPath);
  return next;
}
