import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../../lib/log.ts";
import { migrate } from "../store/schema.ts";
import { DEFAULT_DMI_LIMITS, DmiManager } from "./dmi_manager.ts";
import { dmiSocketPath, listenDmiOnDemand } from "./dmi_socket.ts";
import { MapperTable } from "./mapper_table.ts";
import { GRPC_STATUS } from "./status.ts";

Deno.test("the DMI socket is dmi.sock in dmiSockPath, as KubeEdge reads it (default /etc/kubeedge, a .sock means its folder)", () => {
  assert.equal(dmiSocketPath(""), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/etc/kubeedge"), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/run/kubeedge/"), "/run/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/etc/kubeedge/dmi.sock"), "/etc/kubeedge/dmi.sock");
  assert.equal(dmiSocketPath("/var/lib/edge/old.sock"), "/var/lib/edge/dmi.sock");
});

Deno.test("the DMI socket loads its gRPC server when a mapper first connects, then serves it directly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dmi-socket-" });
  const db = new DatabaseSync(":memory:");
  migrate(db);
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const manager = new DmiManager({
    table: new MapperTable(db),
    twin: () => Promise.resolve(undefined),
    log,
    limits: DEFAULT_DMI_LIMITS,
  });
  const socket = join(dir, "dmi.sock");
  await Deno.writeTextFile(socket, "stale");
  const dmi = await listenDmiOnDemand({ socket, manager, maxMessageBytes: 1024, log });
  const { dmiServices, grpc } = await import("./grpc.ts");
  const Client = grpc.makeGenericClientConstructor(dmiServices().manager, "DeviceManagerService");
  const register = (client: InstanceType<typeof Client>) =>
    new Promise<{ code?: number; details?: string }>((resolve) =>
      (client as unknown as Record<string, (r: unknown, cb: (e: unknown) => void) => void>).MapperRegister!(
        { mapper: { name: "m", protocol: "" } },
        (error) => resolve((error ?? {}) as { code?: number; details?: string }),
      )
    );
  const clients: InstanceType<typeof Client>[] = [];
  try {
    assert.equal(dmi.loaded, false, "nothing connected yet");
    assert.ok((await Deno.stat(socket)).isSocket, "the stale file was replaced by the socket");
    for (const round of [1, 2]) {
      // Its own connection, not grpc-js's shared one: the first is relayed, the second reaches the server.
      const client = new Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      });
      clients.push(client);
      const error = await register(client);
      assert.equal(error.code, GRPC_STATUS.INVALID_ARGUMENT, `round ${round}: ${JSON.stringify(error)}`);
      assert.match(error.details ?? "", /protocol is empty/);
      assert.equal(dmi.loaded, true);
    }
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name),
      ["dmi.sock"],
      "the gRPC server's socket took dmi.sock's name",
    );
  } finally {
    for (const client of clients) client.close();
    await dmi.close();
    manager.close();
    db.close();
  }
  await assert.rejects(Deno.stat(socket), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});
