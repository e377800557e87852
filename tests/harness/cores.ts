// Starts cloudcore and edgecore the way a user does: through bin/cloudcore and bin/edgecore, which run the
// entrypoints with exactly the permission flags `make build` compiles in.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { type RunDir, type Spawned, spawnLogged } from "../cluster/mod.ts";

const BIN = fileURLToPath(new URL("../../bin/", import.meta.url));

export interface Core extends Spawned {
  logFile: string;
  /** Resolves with the first JSON log line whose msg matches; rejects on timeout or exit. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function startCore(
  run: RunDir,
  binary: "cloudcore" | "edgecore",
  config: Record<string, unknown>,
  options: { name?: string; args?: string[] } = {},
): Promise<Core> {
  const name = options.name ?? binary;
  const configFile = join(run.path, `${name}.yaml`);
  await Deno.writeTextFile(configFile, stringify(config));
  const spawned = await spawnLogged(run, name, join(BIN, binary), [
    ...(options.args ?? ["run"]),
    `--config=${configFile}`,
  ]);
  const logFile = join(run.path, `${name}.log`);
  let exited: Deno.CommandStatus | undefined;
  spawned.status.then((s) => exited = s);
  return {
    ...spawned,
    logFile,
    async waitForLog(msg, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const found = (await readLogLines(logFile)).find((line) =>
          typeof line.msg === "string" && (typeof msg === "string" ? line.msg === msg : msg.test(line.msg))
        );
        if (found) return found;
        const text = await Deno.readTextFile(logFile).catch(() => "");
        if (exited) throw new Error(`${name} exited with ${exited.code} before logging "${msg}":\n${text}`);
        if (Date.now() > deadline) {
          throw new Error(`${name} did not log "${msg}" in ${timeoutMs} ms:\n${text}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export async function readLogLines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await Deno.readTextFile(file).catch(() => "");
  const lines: Array<Record<string, unknown>> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line));
    } catch { /* a partial last line */ }
  }
  return lines;
}
