/** Flags override the file: `--log-level` and `--log-format` replace `log.level` and `log.format`. */

import type { LogFormat, LogLevel } from "../log.ts";

export interface LogOverrides {
  readonly logLevel?: LogLevel | undefined;
  readonly logFormat?: LogFormat | undefined;
}

/** A copy of `config` with the log flags that were given applied; the input is not changed. */
export function overrideLog<
  T extends { readonly log: { readonly level: LogLevel; readonly format: LogFormat } },
>(
  config: T,
  flags: LogOverrides,
): T {
  return {
    ...config,
    log: {
      ...config.log,
      level: flags.logLevel ?? config.log.level,
      format: flags.logFormat ?? config.log.format,
    },
  };
}
