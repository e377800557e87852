/**
 * A TCP load balancer in front of cloudcore replicas, as a fleet runs them: Debian's HAProxy in TCP mode
 * (TLS passes through, so each replica still sees the edge's client certificate), one frontend per
 * cloudcore port, health-checked every 300 ms so a killed replica leaves the rotation within a second.
 */
import { join } from "node:path";
import { freePort, type RunDir, type Spawned, spawnLogged } from "../cluster/processes.ts";

export const HAPROXY = "/usr/sbin/haproxy";

export interface Frontend {
  /** A name for the config (letters, digits, dashes). */
  readonly name: string;
  /** The ports of the replicas behind it, on 127.0.0.1. */
  readonly backends: readonly number[];
}

export interface Balancer {
  /** Frontend name -> the port edges dial. */
  readonly ports: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startBalancer(run: RunDir, frontends: readonly Frontend[]): Promise<Balancer> {
  const ports: Record<string, number> = {};
  const lines = [
    "global",
    // Two file descriptors per connection must fit the process limit (20,000 here).
    "  maxconn 9000",
    "defaults",
    "  mode tcp",
    "  timeout connect 2s",
    // WebSocket sessions live long; edges send a keepalive every 15 s.
    "  timeout client 120s",
    "  timeout server 120s",
  ];
  for (const f of frontends) {
    ports[f.name] = freePort();
    lines.push(`frontend ${f.name}`, `  bind 127.0.0.1:${ports[f.name]}`, `  default_backend ${f.name}`);
    lines.push(`backend ${f.name}`, "  balance roundrobin");
    f.backends.forEach((port, i) =>
      lines.push(
        `  server r${i} 127.0.0.1:${port} check inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions`,
      )
    );
  }
  const file = join(run.path, "haproxy.cfg");
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const check = await new Deno.Command(HAPROXY, {
    args: ["-c", "-f", file],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!check.success) {
    throw new Error(`Cannot start haproxy: its config is invalid: ${new TextDecoder().decode(check.stderr)}`);
  }
  const proc: Spawned = await spawnLogged(run, "haproxy", HAPROXY, ["-db", "-f", file]);
  await listening(Object.values(ports), proc);
  return { ports, stop: () => proc.stop(2000) };
}

async function listening(ports: number[], proc: Spawned): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const port of ports) {
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (error) {
        if (Date.now() > deadline) {
          await proc.stop(0);
          throw new Error(`Cannot start haproxy: port ${port} not listening after 10 s`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}
