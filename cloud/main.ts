/**
 * cloudcore entrypoint: parse flags -> load config -> run(config, signal). The only place that exits.
 *
 *   cloudcore [run] [--config FILE] [--log-level L] [--log-format F]
 *   cloudcore --defaultconfig | --version | --help
 */

import {
  commonFlags,
  defineCli,
  formatHelp,
  type MainIO,
  parseCli,
  reportFatal,
  shutdownOnSignals,
  STDIO,
  waitForAbort,
} from "../lib/cli/mod.ts";
import { overrideLog, toYaml } from "../lib/config/mod.ts";
import { EX_UNAVAILABLE } from "../lib/errors.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { VERSION } from "../lib/version.ts";
import {
  type CloudCoreConfig,
  DEFAULT_CLOUDCORE_CONFIG_PATH,
  defaultCloudCoreConfig,
  loadCloudCoreConfig,
} from "./config.ts";
import { checkApiserver, loadKubeConfig } from "./kube/mod.ts";
import { getToken } from "./certs/mod.ts";
import { startCloudCore } from "./cloudcore.ts";

export const CLI = defineCli({
  program: "cloudcore",
  summary: "kedge cloudcore: relays between the Kubernetes API and edge nodes (KubeEdge-compatible).",
  commands: {
    run: { description: "Run the cloud relay" },
    gettoken: { description: "Print a join token for edgecore join (uses kubeAPIConfig.kubeConfig)" },
  },
  defaultCommand: "run",
  flags: commonFlags(DEFAULT_CLOUDCORE_CONFIG_PATH),
  footer:
    "Exit status: 0 stopped by SIGINT/SIGTERM, 64 usage error, 69 apiserver unreachable, 78 bad config.",
});

/** Runs the command line `argv` and returns the exit code. */
export async function main(argv: readonly string[], io: MainIO = STDIO): Promise<number> {
  try {
    const { command, flags } = parseCli(CLI, argv);
    if (flags.help) return print(io, formatHelp(CLI));
    if (flags.version) return print(io, `cloudcore ${VERSION}\n`);
    if (flags.defaultconfig) {
      return print(io, toYaml(defaultCloudCoreConfig(), `cloudcore ${VERSION} default config`));
    }
    const loaded = await loadCloudCoreConfig(flags.config);
    const config = overrideLog(loaded.config, {
      logLevel: flags["log-level"],
      logFormat: flags["log-format"],
    });
    const log = createLogger({
      level: config.log.level,
      format: config.log.format,
      component: "cloudcore",
      write: (line) => io.stderr(`${line}\n`),
    });
    switch (command) {
      case "run": {
        using shutdown = shutdownOnSignals();
        return await run(config, { signal: shutdown.signal, log, configFile: loaded.source });
      }
      case "gettoken": {
        const kube = await loadKubeConfig(config.kubeAPIConfig.kubeConfig, loaded.source);
        return print(io, `${await getToken(kube.kubeConfig)}\n`);
      }
    }
  } catch (err) {
    return reportFatal("cloudcore", err, io.stderr);
  }
}

export interface RunOptions {
  /** Aborting it stops cloudcore; its reason (a signal name) is logged. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Where the config came from, for the started line. */
  readonly configFile: string;
}

/** Runs cloudcore until `signal` aborts. Returns the exit code; throws ConfigError for an unusable kubeconfig. */
export async function run(config: CloudCoreConfig, options: RunOptions): Promise<number> {
  const { signal, log } = options;
  const kube = await loadKubeConfig(config.kubeAPIConfig.kubeConfig, options.configFile);
  log.info("cloudcore started", { version: VERSION, configFile: options.configFile, ...summary(config) });
  const check = await checkApiserver(kube, signal);
  if (signal.aborted) return 0;
  if (!check.ok) {
    log.error("apiserver unreachable", { server: kube.server, error: check.error });
    return EX_UNAVAILABLE;
  }
  log.info("apiserver reachable", { server: kube.server, serverVersion: check.version });
  const core = await startCloudCore(config, kube.kubeConfig, log, signal);
  log.info("cloudcore ready", core.ports);
  await waitForAbort(signal);
  await core.close();
  log.info("cloudcore stopped", { reason: String(signal.reason) });
  return 0;
}

function summary(config: CloudCoreConfig): Record<string, unknown> {
  const hub = config.modules.cloudHub;
  return {
    kubeConfig: config.kubeAPIConfig.kubeConfig || "(in-cluster)",
    websocket: `${hub.websocket.address}:${hub.websocket.port}`,
    https: `${hub.https.address}:${hub.https.port}`,
    streamPort: config.modules.cloudStream.streamPort,
    tunnelPort: config.modules.cloudStream.tunnelPort,
    metrics: `${config.metrics.address}:${config.metrics.port}`,
    advertiseAddress: hub.advertiseAddress,
    dnsNames: hub.dnsNames,
    nodeLimit: hub.nodeLimit,
  };
}

function print(io: MainIO, text: string): number {
  io.stdout(text);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
