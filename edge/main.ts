/**
 * edgecore entrypoint: parse flags -> load config -> run(config, signal). The only place that exits.
 *
 *   edgecore [run] [--config FILE] [--log-level L] [--log-format F]
 *   edgecore join --cloudcore-ipport HOST:10000 --token T --node-name N [--install] [--root DIR]
 *   edgecore reset [--root DIR] [--force]
 *   edgecore status [--config FILE] [--root DIR]
 *   edgecore --defaultconfig | --version | --help
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
import { ConfigError, UsageError } from "../lib/errors.ts";
import { startEdgeCore } from "./edgecore.ts";
import { limitMallocRetention } from "./malloc.ts";
import { createLogger, type Logger } from "../lib/log.ts";
import { VERSION } from "../lib/version.ts";
import {
  DEFAULT_EDGECORE_CONFIG_PATH,
  defaultEdgeCoreConfig,
  type EdgeCoreConfig,
  isValidNodeName,
  loadEdgeCoreConfig,
  nodeNameOf,
} from "./config.ts";

const JOIN_FLAGS = {
  "cloudcore-ipport": {
    type: "string",
    value: "HOST:PORT",
    description: "join: cloudcore's WebSocket address",
  },
  token: { type: "string", value: "TOKEN", description: "join: the token from cloudcore gettoken" },
  "node-name": { type: "string", value: "NAME", description: "join: this node's name" },
  certport: { type: "string", value: "PORT", description: "join: cloudcore's HTTPS port (default 10002)" },
  "tunnel-port": {
    type: "string",
    value: "PORT",
    description:
      "join: cloudcore's stream tunnel port; turns kubectl logs/exec on (cloudcore init prints it)",
  },
  force: {
    type: "boolean",
    description: "join: take a node name that already exists; reset: even while edgecore answers",
  },
  "cert-dir": { type: "string", value: "DIR", description: "join: where the CA, certificate and key go" },
  "data-source": { type: "string", value: "FILE", description: "join: the SQLite file edgecore will use" },
  install: {
    type: "boolean",
    description: "join: also write the systemd unit and, when systemd runs, enable it",
  },
  root: {
    type: "string",
    value: "DIR",
    description: "join, reset, status: every path (config, certificates, store, unit) under DIR",
  },
} as const;

function portFlag(text: string, flag = "--certport"): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 1 to 65535, got ${JSON.stringify(text)}`);
  }
  return port;
}

export const CLI = defineCli({
  program: "edgecore",
  summary: "kedge edgecore: the agent on each edge node (KubeEdge-compatible).",
  commands: {
    run: { description: "Run the edge agent" },
    join: {
      description:
        "Join a cloud: fetch the CA, check the token's hash, obtain a certificate, write the config " +
        "(--config, default " + DEFAULT_EDGECORE_CONFIG_PATH + ")",
    },
    reset: {
      description: "Remove edgecore's store, certificates, config and unit (disabling it when systemd " +
        "runs); never touches containerd, so containers and images of this and other tools stay",
    },
    status: {
      description: "Show connection, cloud, node, pods and devices held, certificate expiry, store size; " +
        "exit 0 when connected, 1 otherwise",
    },
  },
  defaultCommand: "run",
  flags: { ...commonFlags(DEFAULT_EDGECORE_CONFIG_PATH), ...JOIN_FLAGS },
  footer: "Exit status: 0 stopped by SIGINT/SIGTERM (run) or done, 1 join refused, reset refused or status " +
    "not connected, 64 usage error, 78 bad config.",
});

/** Runs the command line `argv` and returns the exit code. */
export async function main(argv: readonly string[], io: MainIO = STDIO): Promise<number> {
  try {
    const { command, flags } = parseCli(CLI, argv);
    if (flags.help) return print(io, formatHelp(CLI));
    if (flags.version) return print(io, `edgecore ${VERSION}\n`);
    if (flags.defaultconfig) {
      return print(io, toYaml(defaultEdgeCoreConfig(), `edgecore ${VERSION} default config`));
    }
    const log = createLogger({
      level: flags["log-level"] ?? "info",
      format: flags["log-format"] ?? "json",
      component: "edgecore",
      write: (line) => io.stderr(`${line}\n`),
    });
    const printLine = (line: string) => io.stdout(`${line}\n`);
    // The subcommands' code (joining, certificates, systemd) is loaded only for them, not by `run`.
    if (command === "join" && (flags.install || flags.root !== undefined)) {
      const { joinAndInstall } = await import("./cli/mod.ts");
      await joinAndInstall({
        cloudcoreIpport: flags["cloudcore-ipport"],
        token: flags.token,
        nodeName: flags["node-name"],
        certport: flags.certport === undefined ? undefined : portFlag(flags.certport),
        tunnelPort: flags["tunnel-port"] === undefined
          ? undefined
          : portFlag(flags["tunnel-port"], "--tunnel-port"),
        force: flags.force,
        root: flags.root,
        configPath: flags.config,
        certDir: flags["cert-dir"],
        dataSource: flags["data-source"],
        install: flags.install,
        log,
        print: printLine,
      });
      return 0;
    }
    if (command === "join") {
      const { runJoinCommand } = await import("./join/mod.ts");
      await runJoinCommand({
        cloudcoreIpport: flags["cloudcore-ipport"],
        token: flags.token,
        nodeName: flags["node-name"],
        certport: flags.certport === undefined ? undefined : portFlag(flags.certport),
        tunnelPort: flags["tunnel-port"] === undefined
          ? undefined
          : portFlag(flags["tunnel-port"], "--tunnel-port"),
        configPath: flags.config,
        force: flags.force,
        certDir: flags["cert-dir"],
        dataSource: flags["data-source"],
      }, printLine);
      return 0;
    }
    if (command === "reset") {
      const { resetEdge, statusUrl } = await import("./cli/mod.ts");
      const root = flags.root ?? "/";
      const result = await resetEdge({
        root,
        configPath: flags.config,
        force: flags.force,
        log,
        print: printLine,
        statusUrl: statusUrl(defaultEdgeCoreConfig()),
      });
      if (result.refused === undefined) return 0;
      io.stderr(`edgecore: Cannot reset: ${result.refused}\n`);
      return 1;
    }
    if (command === "status") {
      const { edgeStatus, underRoot } = await import("./cli/mod.ts");
      const root = flags.root ?? "/";
      const configPath = underRoot(root, flags.config ?? DEFAULT_EDGECORE_CONFIG_PATH);
      const found = await exists(configPath);
      const status = await edgeStatus({
        root,
        configPath,
        configFound: found,
        config: found ? (await loadEdgeCoreConfig(configPath)).config : defaultEdgeCoreConfig(),
      });
      io.stdout(status.text);
      return status.connected ? 0 : 1;
    }
    const loaded = await loadEdgeCoreConfig(flags.config);
    const config = overrideLog(loaded.config, {
      logLevel: flags["log-level"],
      logFormat: flags["log-format"],
    });
    const runLog = createLogger({
      level: config.log.level,
      format: config.log.format,
      component: "edgecore",
      write: (line) => io.stderr(`${line}\n`),
    });
    switch (command) {
      case "run": {
        using shutdown = shutdownOnSignals();
        return await run(config, { signal: shutdown.signal, log: runLog, configFile: loaded.source });
      }
    }
  } catch (err) {
    if (err instanceof Error && err.name === "JoinError") {
      io.stderr(`edgecore: ${err.message}\n`);
      return 1;
    }
    return reportFatal("edgecore", err, io.stderr);
  }
}

export interface RunOptions {
  /** Aborting it stops edgecore; its reason (a signal name) is logged. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Where the config came from, for the started line. */
  readonly configFile: string;
  /** The machine's hostname; Deno.hostname by default. */
  readonly hostname?: () => string;
}

/** Runs edgecore until `signal` aborts and returns the exit code. Throws ConfigError for an unusable node name. */
export async function run(config: EdgeCoreConfig, options: RunOptions): Promise<number> {
  const { signal, log } = options;
  const nodeName = nodeNameOf(config, options.hostname);
  if (!isValidNodeName(nodeName)) {
    throw new ConfigError(options.configFile, [
      `modules.edged.hostnameOverride: not set, and the hostname ${
        JSON.stringify(nodeName)
      } is not a valid ` +
      "node name (a DNS-1123 subdomain); set hostnameOverride",
    ]);
  }
  log.info("edgecore started", {
    version: VERSION,
    configFile: options.configFile,
    nodeName,
    ...summary(config),
  });
  limitMallocRetention(log);
  const core = await startEdgeCore(config, nodeName, log, signal);
  await waitForAbort(signal);
  await core.close();
  log.info("edgecore stopped", { reason: String(signal.reason) });
  return 0;
}

function summary(config: EdgeCoreConfig): Record<string, unknown> {
  const { edgeHub, eventBus, metaManager } = config.modules;
  return {
    cloudWebsocket: edgeHub.websocket.server || "(not set)",
    cloudHttpServer: edgeHub.httpServer || "(not set)",
    dataSource: config.database.dataSource,
    containerRuntimeEndpoint: config.modules.edged.containerRuntimeEndpoint,
    mqttMode: eventBus.mqttMode,
    metaServer: metaManager.metaServer.enable ? metaManager.metaServer.server : "(disabled)",
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
