// A pod manager in its own process, for tests that kill it with SIGKILL and start it again, as edgecore
// would be. Static pods from a manifests folder; every status change is written to a JSON file.
//   deno run -A pod_manager_fixture.ts ENDPOINT MANIFESTS ROOT LOGS STATUS_FILE SANDBOX_IMAGE
import { createCriClient } from "../../edge/cri/mod.ts";
import { type PodStatus, startPodManager, staticPodSource } from "../../edge/pods/mod.ts";
import { createLogger } from "../../lib/log.ts";

const [endpoint = "", manifests = "", root = "", logs = "", statusFile = "", sandboxImage = ""] = Deno.args;
const log = createLogger({ level: "info", component: "pods" });
const statuses: Record<string, PodStatus> = {};
let writing = Promise.resolve();
const flush = () => {
  writing = writing.then(async () => {
    await Deno.writeTextFile(`${statusFile}.tmp`, JSON.stringify(statuses));
    await Deno.rename(`${statusFile}.tmp`, statusFile);
  });
};
const cri = createCriClient({ endpoint, timeoutMs: 5000 });
const manager = await startPodManager({
  cri,
  nodeName: "edge-fixture",
  rootDirectory: root,
  podLogsDirectory: logs,
  podSandboxImage: sandboxImage,
  hostIP: "127.0.0.1",
  log,
  relistPeriodMs: 300,
  resyncPeriodMs: 2000,
  crashLoopBackoff: { initialMs: 1000, maxMs: 8000 },
  sources: [staticPodSource({ path: manifests, nodeName: "edge-fixture", log, pollMs: 300 })],
  statusSink: {
    podStatusChanged(pod, status) {
      statuses[pod.uid] = status;
      flush();
    },
    podRemoved(pod) {
      delete statuses[pod.uid];
      flush();
    },
  },
});
log.info("fixture started", { pid: Deno.pid });
const stop = async () => {
  await manager.stop();
  cri.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
