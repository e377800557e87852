// The files a join leaves: CA, certificate and key as PEM (the key 0600), and an edgecore config pointing at
// them. The token is not written: it was for joining only.
import { dirname } from "node:path";
import { toYaml } from "../../lib/config/mod.ts";
import { defaultEdgeCoreConfig, type EdgeCoreConfig } from "../config.ts";
import type { JoinPaths } from "./join.ts";

export interface JoinFiles {
  readonly paths: JoinPaths;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** HOST:10000 */
  readonly websocketServer: string;
  /** https://HOST:10002 */
  readonly httpServer: string;
  /** HOST:10004, cloudcore's stream tunnel: edgeStream on when given. */
  readonly tunnelServer?: string;
  readonly nodeName: string;
  readonly dataSource?: string;
}

export function joinedConfig(files: Omit<JoinFiles, "caPem" | "certPem" | "keyPem">): EdgeCoreConfig {
  const config = defaultEdgeCoreConfig();
  const hub = config.modules.edgeHub;
  hub.websocket.server = files.websocketServer;
  hub.httpServer = files.httpServer;
  hub.tlsCaFile = files.paths.caFile;
  hub.tlsCertFile = files.paths.certFile;
  hub.tlsPrivateKeyFile = files.paths.keyFile;
  hub.token = "";
  config.modules.edged.hostnameOverride = files.nodeName;
  if (files.dataSource !== undefined) config.database.dataSource = files.dataSource;
  if (files.tunnelServer !== undefined) {
    config.modules.edgeStream.enable = true;
    config.modules.edgeStream.tunnelServer = files.tunnelServer;
  }
  return config;
}

export async function writeJoinFiles(files: JoinFiles): Promise<void> {
  const { paths } = files;
  await writeFile(paths.caFile, files.caPem, 0o644);
  await writeFile(paths.keyFile, files.keyPem, 0o600);
  await writeFile(paths.certFile, files.certPem, 0o644);
  await writeFile(paths.config, toYaml(joinedConfig(files), "written by edgecore join"), 0o600);
}

/** Writes through a temp file and a rename, so a crash never leaves half a key or config. */
export async function writeFile(path: string, text: string, mode: number): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(temp, text, { mode, createNew: true });
    await Deno.chmod(temp, mode);
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}
