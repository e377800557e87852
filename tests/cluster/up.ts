// `make cluster-up`: the test control plane for a person. Writes <state>/kubeconfig once it is ready and
// runs until SIGTERM or SIGINT (`make cluster-down`), then stops every component and removes its folder.
import { join, resolve } from "node:path";
import { startControlPlane } from "./mod.ts";

const state = resolve(Deno.args[0] ?? ".kedge");
const cp = await startControlPlane({ controllers: true, root: join(state, "runs") });
const stopped = new Promise<void>((done) => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => done());
});
await Deno.copyFile(cp.kubeconfigPath, join(state, "kubeconfig"));
console.log(`control plane ready at ${cp.server}; logs in ${cp.dir}`);
await stopped;
await cp.stop();
await Deno.remove(join(state, "kubeconfig")).catch(() => {});
console.log("control plane stopped");
