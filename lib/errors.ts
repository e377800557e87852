/**
 * Domain errors and the process exit codes they map to (BSD sysexits). Only `main.ts` turns these into an
 * exit; everything else throws or returns them.
 */

/** Exit code for a bad command line: unknown flag, unknown subcommand, bad flag value. */
export const EX_USAGE = 64;
/** Exit code for a service that cannot be reached (for example the Kubernetes apiserver). */
export const EX_UNAVAILABLE = 69;
/** Exit code for an internal error: a bug, not the user's input. */
export const EX_SOFTWARE = 70;
/** Exit code for a bad config file. systemd units use `RestartPreventExitStatus=78`: retrying cannot fix it. */
export const EX_CONFIG = 78;

/**
 * A config that cannot be used. `problems` holds every problem found, each reading `<dotted.path>: <message>`
 * (or a file-level message when there is no path), so one run shows the user all there is to fix.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The file (or other source) the config came from. */
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options?: ErrorOptions) {
    const what = problems.length === 1 ? problems[0] : `${problems.length} problems`;
    super(`Cannot load config ${source}: ${what}`, options);
    this.source = source;
    this.problems = problems;
  }
}

/** A command line that cannot be understood. The message says what is wrong, without the usage text. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
