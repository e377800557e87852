/** Entrypoint support: argument parsing, `--help` text, signal-driven shutdown, fatal error reports. */

export {
  type CliSpec,
  type CommandSpec,
  defineCli,
  type FlagSpec,
  type FlagValues,
  parseCli,
  type ParsedCli,
} from "./args.ts";
export { formatHelp } from "./help.ts";
export { type MainIO, STDIO, writeAllSync } from "./io.ts";
export { reportFatal } from "./report.ts";
export { type Shutdown, SHUTDOWN_SIGNALS, shutdownOnSignals, waitForAbort } from "./signals.ts";
export { commonFlags } from "./common_flags.ts";
