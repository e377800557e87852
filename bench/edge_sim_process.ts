/**
 * Runs bench/nodes_pods_edges.ts (the simulated edges) as a child process and talks to it over its
 * stdin/stdout: commands in, JSON events out.
 */
import { fileURLToPath } from "node:url";
import type { RunDir } from "../tests/cluster/mod.ts";

const SCRIPT = fileURLToPath(new URL("./nodes_pods_edges.ts", import.meta.url));

export interface SimEdgesProcess {
  readonly pid: number;
  command(line: string): Promise<void>;
  /** The next event named `name` (waiting at most `timeoutMs`). */
  next(name: string, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Sends `command` and returns the event it answers with. */
  ask(command: string, event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export function spawnSimEdges(
  run: RunDir,
  options: { port: number; maxSeconds: number; twinEverySeconds: number },
): SimEdgesProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--frozen",
      "--allow-all",
      SCRIPT,
      "--port",
      String(options.port),
      "--dir",
      run.path,
      "--max-seconds",
      String(options.maxSeconds),
      "--twin-every",
      String(options.twinEverySeconds),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  run.record(child.pid);
  const writer = child.stdin.getWriter();
  const events: Array<Record<string, unknown>> = [];
  let exited = false;
  child.status.then(() => exited = true);
  void (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("{")) events.push(JSON.parse(line));
      }
    }
  })();
  const command = (line: string) => writer.write(new TextEncoder().encode(`${line}\n`));
  const next = async (name: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const i = events.findIndex((e) => e.event === name);
      if (i >= 0) return events.splice(i, 1)[0]!;
      if (exited) throw new Error(`Cannot read event ${name}: the simulated edges exited`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Cannot read event ${name}: none in ${timeoutMs} ms`);
  };
  return {
    pid: child.pid,
    command,
    next,
    async ask(line, event, timeoutMs = 30_000) {
      await command(line);
      return await next(event, timeoutMs);
    },
    async stop() {
      await command("quit").catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      await child.status;
      clearTimeout(timer);
    },
  };
}
