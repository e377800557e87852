/**
 * Test helpers (not exported by mod.ts): a throwaway mosquitto, and the real mosquitto_sub / mosquitto_pub
 * clients as child processes. Every helper takes `record` so the caller's run folder can reap the processes
 * if the test run is killed.
 */
import { join } from "node:path";

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

export interface Received {
  readonly topic: string;
  readonly payload: string;
  /** Date.now() when the line was read from mosquitto_sub. */
  readonly receivedAt: number;
}

export interface Mosquitto {
  readonly port: number;
  stop(): Promise<void>;
}

type Record = (pid: number) => void;

function credentialArgs(c: Credentials | undefined): string[] {
  return [...(c?.username ? ["-u", c.username] : []), ...(c?.password ? ["-P", c.password] : [])];
}

/** Starts mosquitto on 127.0.0.1:`port`; `users` makes a password file, `aclLines` an ACL file. */
export async function startMosquitto(options: {
  dir: string;
  port: number;
  record: Record;
  users?: Readonly<globalThis.Record<string, string>>;
  aclLines?: readonly string[];
  /** More mosquitto.conf lines, e.g. "set_tcp_nodelay true". */
  extraConf?: readonly string[];
}): Promise<Mosquitto> {
  const conf = [
    `listener ${options.port} 127.0.0.1`,
    "persistence false",
    "log_dest stderr",
    "log_type error",
  ];
  // Started as root, mosquitto drops to user mosquitto, which cannot read files in our 0700 run folder.
  if (Deno.uid() === 0) conf.push("user root");
  if (options.users && Object.keys(options.users).length > 0) {
    const file = join(options.dir, "mosquitto.passwd");
    await Deno.writeTextFile(file, "");
    for (const [user, password] of Object.entries(options.users)) {
      const out = await new Deno.Command("mosquitto_passwd", { args: ["-b", file, user, password] }).output();
      if (!out.success) {
        throw new Error(`Cannot create mosquitto user ${user}: ${new TextDecoder().decode(out.stderr)}`);
      }
    }
    conf.push("allow_anonymous false", `password_file ${file}`);
  } else {
    conf.push("allow_anonymous true");
  }
  if (options.aclLines) {
    const file = join(options.dir, "mosquitto.acl");
    await Deno.writeTextFile(file, options.aclLines.join("\n") + "\n");
    conf.push(`acl_file ${file}`);
  }
  conf.push(...options.extraConf ?? []);
  const confFile = join(options.dir, "mosquitto.conf");
  await Deno.writeTextFile(confFile, conf.join("\n") + "\n");
  const child = new Deno.Command("/usr/sbin/mosquitto", {
    args: ["-c", confFile],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
  options.record(child.pid);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: options.port });
      conn.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch { /* it exited by itself */ }
        await child.status;
        throw new Error(`Cannot start mosquitto on port ${options.port}: not listening after 5 s`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    port: options.port,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

/** Runs mosquitto_pub once; payload goes through stdin (`-s`) so any size works. */
export async function mosquittoPub(
  port: number,
  topic: string,
  payload: string | Uint8Array,
  options: Credentials & { qos?: 0 | 1 | 2; record?: Record } = {},
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command("mosquitto_pub", {
    args: [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-q",
      String(options.qos ?? 0),
      "-t",
      topic,
      "-s",
      ...credentialArgs(options),
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  options.record?.(child.pid);
  const writer = child.stdin.getWriter();
  await writer.write(typeof payload === "string" ? new TextEncoder().encode(payload) : payload).catch(
    () => {},
  );
  await writer.close().catch(() => {});
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

export interface Subscriber {
  readonly received: Received[];
  /** Resolves with the first message (seen or to come) that passes `test`; rejects after `timeoutMs`. */
  next(test: (m: Received) => boolean, timeoutMs?: number): Promise<Received>;
  stop(): Promise<void>;
}

/**
 * Starts mosquitto_sub on `filters` and returns once it is subscribed: it also subscribes to a probe topic
 * (after the others; `probeTopic` when the ACL allows only some topics) and probes are published, with the
 * same credentials, until one comes back. Probes are not in `received`.
 */
export async function mosquittoSub(
  port: number,
  filters: readonly string[],
  options: Credentials & { record?: Record; probeTopic?: string } = {},
): Promise<Subscriber> {
  const probe = options.probeTopic ?? `kedge-probe/${crypto.randomUUID()}`;
  const args = ["-h", "127.0.0.1", "-p", String(port), "-v", ...credentialArgs(options)];
  for (const filter of [...filters, probe]) args.push("-t", filter);
  const child = new Deno.Command("mosquitto_sub", { args, stdout: "piped", stderr: "null" }).spawn();
  options.record?.(child.pid);
  const received: Received[] = [];
  let probed = false;
  const waiters = new Set<() => void>();
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const space = line.indexOf(" ");
        const receivedAt = Date.now();
        const message = space < 0
          ? { topic: line, payload: "", receivedAt }
          : { topic: line.slice(0, space), payload: line.slice(space + 1), receivedAt };
        if (message.topic === probe) probed = true;
        else received.push(message);
        for (const wake of waiters) wake();
      }
    }
  })();
  const next = (test: (m: Received) => boolean, timeoutMs = 5000) =>
    new Promise<Received>((resolve, reject) => {
      const check = () => {
        const found = received.find(test);
        if (!found) return false;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(`Cannot find the expected message: ${received.length} received within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      waiters.add(wake);
      check();
    });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await reading.catch(() => {});
  };
  try {
    for (let i = 0; !probed; i++) {
      if (i >= 50) throw new Error(`Cannot subscribe with mosquitto_sub on port ${port}: no probe came back`);
      await mosquittoPub(port, probe, "probe", options);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { received, next, stop };
}
