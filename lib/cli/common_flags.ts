/** The flags cloudcore and edgecore share. */

import { LOG_FORMATS, LOG_LEVELS } from "../log.ts";

/** `defaultPath` is the config file read when `--config` is not given (KubeEdge's location). */
export function commonFlags(defaultPath: string) {
  return {
    help: { type: "boolean", short: "h", description: "Print this help and exit" },
    version: { type: "boolean", description: "Print the version and exit" },
    config: {
      type: "string",
      value: "FILE",
      description: `Config file (default ${defaultPath} if it exists, else built-in defaults)`,
    },
    defaultconfig: { type: "boolean", description: "Print the full default config as YAML and exit" },
    "log-level": { type: "string", choices: LOG_LEVELS, description: "Log level; overrides log.level" },
    "log-format": { type: "string", choices: LOG_FORMATS, description: "Log format; overrides log.format" },
  } as const;
}
