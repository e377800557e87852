import assert from "node:assert/strict";
import { join } from "node:path";
import { createCriClient } from "../cri/mod.ts";
import { createLogger } from "../../lib/log.ts";
import { startPodManager } from "./manager.ts";

Deno.test("pod manager: its relist loop leaves no abort listener behind per period", async () => {
  // Each period used to add a listener (with its timer and closure) to the manager's signal and never take it
  // off: once a second for the relist, kept until the manager stopped (edgecore's idle growth). Counted over
  // every AbortSignal in the process while the loop runs, here against a runtime that does not answer (the
  // relist fails and the loop goes on, as on a box whose containerd is down).
  const dir = await Deno.makeTempDir();
  const cri = createCriClient({ endpoint: `unix://${join(dir, "no-containerd.sock")}`, timeoutMs: 1000 });
  const proto = AbortSignal.prototype as AbortSignal;
  const add = proto.addEventListener;
  const remove = proto.removeEventListener;
  let live = 0;
  proto.addEventListener = function (this: AbortSignal, ...args: Parameters<typeof add>) {
    if (args[0] === "abort") live++;
    return add.apply(this, args);
  };
  proto.removeEventListener = function (this: AbortSignal, ...args: Parameters<typeof remove>) {
    if (args[0] === "abort") live--;
    return remove.apply(this, args);
  };
  try {
    const manager = await startPodManager({
      cri,
      nodeName: "edge-test",
      rootDirectory: dir,
      podLogsDirectory: join(dir, "logs"),
      log: createLogger({ level: "error", write: () => {} }),
      relistPeriodMs: 5,
    });
    await new Promise((r) => setTimeout(r, 600));
    const during = live;
    await manager.stop();
    assert.ok(during < 10, `${during} abort listeners live after about 100 relists`);
  } finally {
    proto.addEventListener = add;
    proto.removeEventListener = remove;
    cri.close();
    await Deno.remove(dir, { recursive: true });
  }
});
