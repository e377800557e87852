// `make demo`: a real control plane, a cloudcore connected to it and an edgecore, each started as a user
// would, then stopped. It grows with the project (a pod and a device once those paths exist).
import { join } from "node:path";
import { createRunDir, startControlPlane } from "../cluster/mod.ts";
import { startCore } from "../harness/cores.ts";

const say = (text: string) => console.log(`demo: ${text}`);

say("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler");
await using cp = await startControlPlane({ controllers: true });
say(`control plane ready at ${cp.server}`);
const run = await createRunDir("demo");
try {
  const cloud = await startCore(run, "cloudcore", { kubeAPIConfig: { kubeConfig: cp.kubeconfigPath } });
  try {
    const reachable = await cloud.waitForLog("apiserver reachable");
    say(`cloudcore running, apiserver ${reachable.serverVersion} at ${reachable.server}`);
    const edge = await startCore(run, "edgecore", {
      database: { dataSource: join(run.path, "edgecore.db") },
      modules: { edged: { hostnameOverride: "demo-edge-1" } },
    });
    try {
      const started = await edge.waitForLog("edgecore started");
      say(`edgecore running as node ${JSON.stringify(started.nodeName)}`);
    } finally {
      await edge.stop();
    }
  } finally {
    await cloud.stop();
  }
  say("stopped cloudcore and edgecore; logs were in " + run.path);
} finally {
  await run.remove();
}
say("done");
