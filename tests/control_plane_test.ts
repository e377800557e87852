// The test control plane itself: real etcd + kube-apiserver from tests/cluster, used through
// @kubernetes/client-node and the real kubectl, and cleaned up after a run that was killed.
import assert from "node:assert/strict";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { controlPlaneBinaries, reapOrphans, startControlPlane } from "./cluster/mod.ts";

async function runKubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const { kubectl } = await controlPlaneBinaries();
  const out = await new Deno.Command(kubectl, { args: [`--kubeconfig=${kubeconfig}`, ...args] }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`kubectl ${args.join(" ")} failed: ${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("a Namespace and ConfigMap created through client-node are read back by kubectl", async () => {
  await using cp = await startControlPlane();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "kedge-test" } } });
  await core.createNamespacedConfigMap({
    namespace: "kedge-test",
    body: { metadata: { name: "greeting" }, data: { hello: "edge" } },
  });
  const json = JSON.parse(
    await runKubectl(cp.kubeconfigPath, "-n", "kedge-test", "get", "configmap", "greeting", "-o", "json"),
  );
  assert.equal(json.data.hello, "edge");
  assert.equal(json.metadata.namespace, "kedge-test");
  // RBAC is real: an unauthenticated client is refused.
  const anonymous = await fetch(`${cp.server}/api/v1/namespaces/kedge-test/configmaps`, {
    client: Deno.createHttpClient({ caCerts: [cp.caPem] }),
  });
  await anonymous.body?.cancel();
  assert.equal(anonymous.status, 403);
});

Deno.test("a run killed half-way leaves no process or folder that the next run trips over", async () => {
  const root = await Deno.makeTempDir({ prefix: "kedge-reap-" });
  try {
    const victim = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--frozen",
        new URL("./cluster/fixtures/start_and_hang.ts", import.meta.url).href,
        root,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = victim.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while (!printed.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      printed += value;
    }
    const dir = printed.match(/^ready (.+)$/m)?.[1];
    assert.ok(dir, `the victim did not start: ${printed}`);
    const pids = (await Deno.readTextFile(join(dir, "pids"))).trim().split("\n").map((l) =>
      Number(l.split(" ")[0])
    );
    assert.equal(pids.length, 2, "etcd and kube-apiserver are recorded");
    victim.kill("SIGKILL");
    await victim.status;
    await reader.cancel();
    for (const pid of pids) assert.ok(await exists(`/proc/${pid}`), `child ${pid} outlives its killed owner`);

    // At least one kill: the recorded children (the other may already be on its way out once etcd is gone);
    // that both are gone is checked next.
    assert.ok(await reapOrphans(root) >= 1, "the dead owner's children were killed");
    await waitGone(pids);
    assert.equal(await exists(dir), false, "the dead run's folder is removed");

    await using next = await startControlPlane({ root });
    const res = await fetch(`${next.server}/readyz`, {
      client: Deno.createHttpClient({ caCerts: [next.caPem] }),
    });
    assert.equal(await res.text(), "ok");
  } finally {
    await reapOrphans(root);
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[]) {
  for (let i = 0; i < 100; i++) {
    const states = await Promise.all(pids.map((pid) => procState(pid)));
    if (states.every((s) => s === undefined || s === "Z")) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`processes ${pids.join(",")} still alive after SIGKILL`);
}

async function procState(pid: number): Promise<string | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}
