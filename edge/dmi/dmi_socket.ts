/**
 * The DMI socket, served on demand: KubeEdge's `modules.deviceTwin.dmiSockPath` (a folder, default
 * /etc/kubeedge; an older value ending in `.sock` names the socket's folder by its dirname), socket
 * `dmi.sock` in it, a stale one removed first as upstream does.
 *
 * edgecore listens on it from the start but loads the gRPC server (grpc-js and protobufjs, about 4 MiB of
 * an idle edgecore: bench/README.md) only when a mapper first connects, as systemd's socket activation
 * does. Then the gRPC server binds a new socket beside dmi.sock and renames it over dmi.sock, so later
 * connections reach it directly; the few this listener accepted first are relayed to it byte for byte.
 * This listener stays open until close: Deno removes a unix listener's path when it closes, which by then
 * is the gRPC server's.
 */
import { dirname, join } from "node:path";
import type { DmiServer, DmiServerOptions } from "./dmi_server.ts";

export const DEFAULT_DMI_SOCK_DIR = "/etc/kubeedge";

/** The socket path for a `dmiSockPath` setting, as upstream reads it. */
export function dmiSocketPath(setting: string): string {
  const dir = setting === "" ? DEFAULT_DMI_SOCK_DIR : setting.endsWith(".sock") ? dirname(setting) : setting;
  return join(dir, "dmi.sock");
}

export interface DmiSocket extends DmiServer {
  /** Whether the gRPC server has been loaded (a mapper connected). */
  readonly loaded: boolean;
}

export async function listenDmiOnDemand(options: DmiServerOptions): Promise<DmiSocket> {
  const { socket, log } = options;
  await Deno.mkdir(dirname(socket), { recursive: true });
  await Deno.remove(socket).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const listener = Deno.listen({ transport: "unix", path: socket });
  log.info("dmi socket listening", { socket });
  let server: Promise<DmiServer> | undefined;
  let loaded = false;
  const relays = new Set<Deno.Conn>();

  const load = () =>
    server ??= (async () => {
      const { startDmiServer } = await import("./dmi_server.ts");
      const staging = join(dirname(socket), `.dmi.${Deno.pid}.sock`);
      const started = await startDmiServer({ ...options, socket: staging });
      await Deno.rename(staging, socket);
      loaded = true;
      log.info("dmi server loaded", { socket });
      return started;
    })().catch((error) => {
      server = undefined; // the next connection tries again
      log.error("dmi server failed to load", { error });
      throw error;
    });

  const relay = async (conn: Deno.Conn) => {
    relays.add(conn);
    let upstream: Deno.Conn | undefined;
    try {
      await load();
      upstream = await Deno.connect({ transport: "unix", path: socket });
      relays.add(upstream);
      await Promise.race([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]);
    } catch (error) {
      log.debug("dmi relay ended", { error });
    } finally {
      for (const c of [conn, upstream]) {
        if (!c) continue;
        relays.delete(c);
        try {
          c.close();
        } catch { /* closed by its stream already */ }
      }
    }
  };

  const accepting = (async () => {
    for await (const conn of listener) void relay(conn);
  })().catch((error) => log.debug("dmi socket closed", { error }));

  return {
    socket,
    get loaded() {
      return loaded;
    },
    async close() {
      if (server) await (await server.catch(() => undefined))?.close();
      for (const conn of relays) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      listener.close();
      await accepting;
      await Deno.remove(socket).catch(() => {});
    },
  };
}
