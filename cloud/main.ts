/**
 * cloudcore entrypoint: parse flags -> load config -> run(config, signal). The only place that exits.
 *
 *   cloudcore [run] [--config FILE] [--log-level L] [--log-format F]
 *   cloudcore init --kubeconfig K --advertise-address A [--dns-name N]... [--config FILE]
 *   cloudcore manifest [--image IMAGE] [--advertise-address A]
 *   cloudcore certs check-expiration | certs renew [--new-token]
 *   cloudcore gettoken
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
import { limitRequests, TokenBucket } from "./kube/rate_limit.ts";
import { getToken } from "./certs/mod.ts";
import { startCloudCore } from "./cloudcore.ts";
import {
  addressFlags,
  applyCloudFlags,
  checkExpiration,
  CLOUD_SUBCOMMAND_FLAGS,
  formatExpirationTable,
  formatExpiry,
  joinGroupCommand,
  manifestYaml,
  renewServerCertificate,
  runInit,
} from "./cli/mod.ts";

export const CLI = defineCli({
  program: "cloudcore",
  summary: "kedge cloudcore: relays between the Kubernetes API and edge nodes (KubeEdge-compatible).",
  commands: {
    run: { description: "Run the cloud relay" },
    gettoken: { description: "Print a join token for edgecore join (uses kubeAPIConfig.kubeConfig)" },
    init: {
      description:
        "Prepare the cluster (namespace kubeedge, device and rule CRDs, RBAC, CA, server certificate, " +
        "token), write --config FILE when given, print the edgecore join command; safe to run again",
    },
    manifest: { description: "Print the YAML to run cloudcore in the cluster (kubectl apply -f -)" },
    "certs check-expiration": {
      description: "List when the CA, the server certificate and the join token expire",
    },
    "certs renew": {
      description: "Re-issue the server certificate from the same CA (edges keep working); the CA is never " +
        "renewed, every joined edge pins it",
    },
  },
  defaultCommand: "run",
  flags: { ...commonFlags(DEFAULT_CLOUDCORE_CONFIG_PATH), ...CLOUD_SUBCOMMAND_FLAGS },
  footer: "Exit status: 0 stopped by SIGINT/SIGTERM (run) or done, 64 usage error, 69 apiserver " +
    "unreachable, 70 failed, 78 bad config.",
});

/** Runs the command line `argv` and returns the exit code. */
export async function main(argv: readonly string[], io: MainIO = STDIO): Promise<number> {
  try {
    const { command, flags } = parseCli(CLI, joinGroupCommand(argv, CLI.flags, ["certs"]));
    if (flags.help) return print(io, formatHelp(CLI));
    if (flags.version) return print(io, `cloudcore ${VERSION}\n`);
    if (flags.defaultconfig) {
      return print(io, toYaml(defaultCloudCoreConfig(), `cloudcore ${VERSION} default config`));
    }
    const addresses = addressFlags(argv);
    if (command === "manifest") {
      return print(io, manifestYaml({ image: flags.image, ...addresses }));
    }
    // init writes --config FILE, so a file that is not there yet means the defaults.
    const loaded = command === "init" && flags.config !== undefined && !await exists(flags.config)
      ? { config: defaultCloudCoreConfig(), source: flags.config }
      : await loadCloudCoreConfig(flags.config);
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
      case "init": {
        // What is written is the file plus the address flags; --log-level/--log-format are for this run.
        const wanted = applyCloudFlags(loaded.config, flags.kubeconfig, addresses);
        const kube = await loadKubeConfig(wanted.kubeAPIConfig.kubeConfig, loaded.source);
        await runInit({
          kc: kube.kubeConfig,
          config: wanted,
          configPath: flags.config,
          log,
          print: (line) => io.stdout(`${line}\n`),
        });
        return 0;
      }
      case "certs check-expiration": {
        const wanted = applyCloudFlags(config, flags.kubeconfig, addresses);
        const kube = await loadKubeConfig(wanted.kubeAPIConfig.kubeConfig, loaded.source);
        const rows = await checkExpiration(kube.kubeConfig);
        io.stdout(formatExpirationTable(rows));
        return rows.some((row) => row.expires === undefined && row.name !== "join-token") ? 1 : 0;
      }
      case "certs renew": {
        const wanted = applyCloudFlags(config, flags.kubeconfig, addresses);
        const kube = await loadKubeConfig(wanted.kubeAPIConfig.kubeConfig, loaded.source);
        const renewed = await renewServerCertificate({
          kc: kube.kubeConfig,
          config: wanted,
          newToken: flags["new-token"],
        });
        log.info("server certificate renewed", {
          oldSerial: renewed.oldSerial,
          serial: renewed.serial,
          notAfter: renewed.notAfter.toISOString(),
        });
        io.stdout(
          `secret/cloudcoresecret renewed: serial ${renewed.oldSerial ?? "(none)"} -> ${renewed.serial}, ` +
            `SANs ${[...renewed.sans.ipAddresses, ...renewed.sans.dnsNames].join(", ")}, expires ` +
            `${formatExpiry(renewed.notAfter)}\n` +
            "The CA is unchanged: joined edges keep working. Running cloudcores serve the new certificate " +
            "after a restart.\n",
        );
        if (renewed.token !== undefined) io.stdout(`join token: ${renewed.token}\n`);
        return 0;
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
  const { qps, burst } = config.kubeAPIConfig;
  limitRequests(kube.kubeConfig, new TokenBucket({ qps, burst }));
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function print(io: MainIO, text: string): number {
  io.stdout(text);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
