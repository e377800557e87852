// `edgecore join ... [--install] [--root DIR]`: the join of edge/join with every path under DIR, then, with
// --install, the systemd unit written and (on a machine running systemd, root "/") enabled.
import { writeFileAtomic } from "../../lib/atomic_write.ts";
import { toYaml } from "../../lib/config/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { parseEdgeCoreConfig } from "../config.ts";
import { DEFAULT_CERT_PORT, joinCloud, JoinError } from "../join/mod.ts";
import { type EdgeFileFlags, type EdgeFiles, joinFiles, rootedConfig } from "./paths.ts";
import { SYSTEMD, type Systemd } from "./systemd.ts";
import { EDGECORE_UNIT, EDGECORE_UNIT_NAME } from "./unit.ts";

export interface JoinInstallOptions extends EdgeFileFlags {
  readonly cloudcoreIpport?: string;
  readonly token?: string;
  readonly nodeName?: string;
  readonly certport?: number;
  /** cloudcore's stream tunnel port: edgeStream on, dialling HOST:PORT. */
  readonly tunnelPort?: number;
  readonly force?: boolean;
  /** Write (and enable) the systemd unit. */
  readonly install?: boolean;
  readonly log: Logger;
  readonly print: (line: string) => void;
  readonly systemd?: Systemd;
}

/** Throws JoinError for what the user must fix, Error when the cloud or systemctl fails. */
export async function joinAndInstall(options: JoinInstallOptions): Promise<EdgeFiles> {
  const missing = [
    ["--cloudcore-ipport", options.cloudcoreIpport],
    ["--token", options.token],
    ["--node-name", options.nodeName],
  ].filter(([, value]) => !value).map(([name]) => name);
  if (missing.length > 0) throw new JoinError(`Cannot join: missing ${missing.join(", ")}`);
  const root = options.root ?? "/";
  const files = joinFiles(options);
  options.log.debug("join paths", { root, ...files });
  await joinCloud({
    cloudcoreIpPort: options.cloudcoreIpport ?? "",
    certPort: options.certport ?? DEFAULT_CERT_PORT,
    tunnelPort: options.tunnelPort,
    token: options.token ?? "",
    nodeName: options.nodeName ?? "",
    force: options.force ?? false,
    dataSource: files.dataSource,
    paths: { config: files.config, caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile },
    print: options.print,
  });
  const written = parseEdgeCoreConfig(await Deno.readTextFile(files.config), files.config);
  const rooted = rootedConfig(root, written);
  if (rooted !== written) {
    await writeFileAtomic(files.config, toYaml(rooted, `written by edgecore join --root ${root}`), {
      mode: 0o600,
    });
  }
  if (!options.install) return files;
  await writeFileAtomic(files.unit, EDGECORE_UNIT, { mode: 0o644 });
  options.print(`wrote ${files.unit}`);
  const systemd = options.systemd ?? SYSTEMD;
  if (await systemd.running(root)) {
    await systemd.systemctl(["daemon-reload"]);
    await systemd.systemctl(["enable", EDGECORE_UNIT_NAME]);
    options.print(`enabled ${EDGECORE_UNIT_NAME}; start it with: systemctl start edgecore`);
  } else {
    options.log.info("systemd not running here, unit not enabled", { root, unit: files.unit });
    options.print(`systemd is not running for ${root}: the unit was written, not enabled`);
  }
  return files;
}
