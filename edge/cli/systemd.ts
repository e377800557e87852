// Talking to systemd, only when it is the running init and the target is this machine's root: a --root
// install into a folder, or a box without systemd, gets the files and nothing else.
import { resolve } from "node:path";

export interface Systemd {
  /** Whether systemctl may be called for `root`. */
  readonly running: (root: string) => Promise<boolean>;
  /** Runs `systemctl ...args`; throws Error "Cannot run systemctl ..." on a non-zero exit. */
  readonly systemctl: (args: readonly string[]) => Promise<void>;
}

export const SYSTEMD: Systemd = {
  running: async (root) => {
    if (resolve(root) !== "/") return false;
    try {
      return (await Deno.stat("/run/systemd/system")).isDirectory;
    } catch {
      return false;
    }
  },
  systemctl: async (args) => {
    const out = await new Deno.Command("systemctl", {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ?? "";
      throw new Error(`Cannot run systemctl ${args.join(" ")}: exit ${out.code}${why ? `: ${why}` : ""}`);
    }
  },
};
