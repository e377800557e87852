// `edgecore join --cloudcore-ipport HOST:10000 --token T --node-name N [--certport 10002] [--tunnel-port 10004]
// [--force]`: the
// flags, parsed by main.ts, turned into a joinCloud call with the default file locations.
import { join } from "node:path";
import { DEFAULT_EDGECORE_CONFIG_PATH, defaultEdgeCoreConfig } from "../config.ts";
import { DEFAULT_CERT_PORT, joinCloud, JoinError, type JoinResult } from "./join.ts";

export interface JoinFlags {
  readonly cloudcoreIpport?: string;
  readonly token?: string;
  readonly nodeName?: string;
  readonly certport?: number;
  /** cloudcore's stream tunnel port: edgeStream on, dialling HOST:PORT. */
  readonly tunnelPort?: number;
  /** Where the edgecore config goes. Default /etc/kubeedge/config/edgecore.yaml. */
  readonly configPath?: string;
  readonly force?: boolean;
  /** Where the CA, certificate and key go. Default: the edgecore defaults (/etc/kubeedge/...). */
  readonly certDir?: string;
  readonly dataSource?: string;
}

/** Runs a join from flags, printing each step. Throws JoinError for a missing flag or a refused join. */
export function runJoinCommand(flags: JoinFlags, print: (line: string) => void): Promise<JoinResult> {
  const missing = (["cloudcoreIpport", "token", "nodeName"] as const).filter((f) => !flags[f]);
  if (missing.length > 0) {
    const names = missing.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    return Promise.reject(new JoinError(`Cannot join: missing ${names.join(", ")}`));
  }
  const defaults = defaultEdgeCoreConfig().modules.edgeHub;
  const inDir = (file: string) => flags.certDir ? join(flags.certDir, file.split("/").pop() ?? file) : file;
  const config = flags.configPath ?? DEFAULT_EDGECORE_CONFIG_PATH;
  return joinCloud({
    cloudcoreIpPort: flags.cloudcoreIpport ?? "",
    certPort: flags.certport ?? DEFAULT_CERT_PORT,
    tunnelPort: flags.tunnelPort,
    token: flags.token ?? "",
    nodeName: flags.nodeName ?? "",
    force: flags.force ?? false,
    dataSource: flags.dataSource,
    paths: {
      config,
      caFile: inDir(defaults.tlsCaFile),
      certFile: inDir(defaults.tlsCertFile),
      keyFile: inDir(defaults.tlsPrivateKeyFile),
    },
    print,
  });
}
