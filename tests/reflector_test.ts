// cloudcore's watches over time, on a real kube-apiserver whose watches end after 5-10 s
// (--min-request-timeout of the test control plane): resumed from their resourceVersion across expiries,
// restarted when a connection goes silent, relisted after an apiserver restart, and counted.
import assert from "node:assert/strict";
import { CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { Reflector, reflectorsFor, type ReflectorTiming, watchChecks } from "../cloud/kube/mod.ts";
import { shareDispatcher } from "../cloud/kube/kubeconfig.ts";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { type ControlPlane, startControlPlane } from "./cluster/mod.ts";
import { startFreezableProxy } from "./harness/freezable_proxy.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kubeConfig(path: string, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (server) kc.clusters = kc.clusters.map((c) => ({ ...c, server }));
  shareDispatcher(kc);
  return kc;
}

/** A reflector of the ConfigMaps in `namespace`, recording when each name was last seen and how. */
function configMapReflector(kc: KubeConfig, namespace: string, timing?: Partial<ReflectorTiming>) {
  const registry = new Registry();
  const core = kc.makeApiClient(CoreV1Api);
  const seen = new Map<string, { at: number; event: string; data?: Record<string, string> }>();
  const reflector: Reflector<V1ConfigMap> = reflectorsFor(kc, { log: quiet, registry, timing })<V1ConfigMap>({
    resource: "configmaps",
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace }),
    handler: (event, cm) => seen.set(cm.metadata!.name!, { at: Date.now(), event, data: cm.data }),
  });
  const count = (name: string, labels: string) => {
    const line = registry.render().split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };
  return {
    reflector,
    seen,
    registry,
    restarts: (reason: string) =>
      count("kedge_cloud_watch_restarts_total", `resource="configmaps",reason="${reason}"`),
    lists: () => count("kedge_cloud_informer_lists_total", `resource="configmaps"`),
  };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await wait(20);
  }
  return Date.now() - started;
}

async function createConfigMap(core: CoreV1Api, namespace: string, name: string, value = "1") {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { value } } });
}

/** The reflector's store and a fresh list agree on every name and resourceVersion. */
async function assertSameAsApiserver(core: CoreV1Api, namespace: string, reflector: Reflector<V1ConfigMap>) {
  const list = await core.listNamespacedConfigMap({ namespace });
  const versions = (items: V1ConfigMap[]) =>
    items.map((cm) => `${cm.metadata!.name}@${cm.metadata!.resourceVersion}`).sort();
  assert.deepEqual(versions(reflector.store.list(namespace)), versions(list.items));
}

Deno.test("reflector on a real apiserver: watch expiry, a silent connection, an apiserver restart", async (t) => {
  await using cp: ControlPlane = await startControlPlane();
  const admin = kubeConfig(cp.kubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);

  await t.step("resumes across watch expiries from its resourceVersion, without relisting", async () => {
    const namespace = "default";
    const r = configMapReflector(kubeConfig(cp.kubeconfigPath), namespace);
    await r.reflector.start();
    try {
      // 24 s: three to four watch lifetimes of 5-10 s; a change every 2 s arrives within 1.5 s each.
      for (let i = 0; i < 12; i++) {
        await wait(2_000);
        const name = `expiry-${i}`;
        await createConfigMap(core, namespace, name);
        await until(`${name} seen`, () => r.seen.has(name), 1_500);
      }
      assert.ok(r.restarts("closed") >= 2, `watch ended by the apiserver ${r.restarts("closed")} times`);
      assert.equal(r.lists(), 1, "resumed from the last resourceVersion: no second list");
      assert.equal(r.restarts("error") + r.restarts("stale") + r.restarts("gone"), 0);
      assert.deepEqual(watchChecks(r.registry), { "watch:configmaps": true });
      await assertSameAsApiserver(core, namespace, r.reflector);
    } finally {
      await r.reflector.stop();
    }
  });

  await t.step("a connection that goes silent (no FIN) is declared stale and replaced", async () => {
    const namespace = "kube-public";
    await using proxy = startFreezableProxy(new URL(cp.server).port);
    const r = configMapReflector(
      kubeConfig(cp.kubeconfigPath, `https://127.0.0.1:${proxy.port}`),
      namespace,
      {
        staleAfterMs: 3_000,
      },
    );
    await r.reflector.start();
    // Changes every 400 ms keep a healthy watch busy, so only a dead one goes 3 s without a byte.
    let i = 0;
    const churn = setInterval(
      () => void createConfigMap(core, namespace, `busy-${i++}`).catch(() => {}),
      400,
    );
    try {
      await until("watch open", () => r.seen.size > 0, 5_000);
      proxy.freeze();
      const name = "after-freeze";
      await createConfigMap(core, namespace, name);
      const ms = await until(`${name} seen`, () => r.seen.has(name), 3_000 + 4_000);
      assert.ok(ms >= 2_000, `seen after ${ms} ms, so through a new connection, not the frozen one`);
      assert.ok(r.restarts("stale") >= 1, "counted as stale");
    } finally {
      clearInterval(churn);
      await r.reflector.stop();
    }
  });

  await t.step(
    "apiserver killed, objects changed through another apiserver, back: the store matches",
    async () => {
      const namespace = "kube-system";
      const r = configMapReflector(kubeConfig(cp.kubeconfigPath), namespace);
      for (let i = 0; i < 5; i++) await createConfigMap(core, namespace, `before-${i}`);
      await r.reflector.start();
      try {
        await until("five seen", () => r.seen.size >= 5, 5_000);
        await cp.apiserver.kill();
        await until("not ready while the apiserver is away", () => !r.reflector.watching, 5_000);
        assert.deepEqual(watchChecks(r.registry), { "watch:configmaps": false });

        const second = await cp.startSecondApiserver();
        const other = kubeConfig(second.kubeconfigPath).makeApiClient(CoreV1Api);
        await createConfigMap(other, namespace, "meanwhile");
        await other.deleteNamespacedConfigMap({ namespace, name: "before-0" });
        await other.patchNamespacedConfigMap({
          namespace,
          name: "before-1",
          body: [{ op: "replace", path: "/data", value: { value: "2" } }],
        });
        // Enough changes that the restarted apiserver's watch cache starts past our resourceVersion.
        for (let i = 0; i < 20; i++) await createConfigMap(other, namespace, `churn-${i}`);
        await second.stop();

        await cp.apiserver.start();
        const back = Date.now();
        await until("the store matches the apiserver", async () => {
          try {
            await assertSameAsApiserver(core, namespace, r.reflector);
            return true;
          } catch {
            return false;
          }
        }, 10_000);
        assert.equal(r.seen.get("before-0")?.event, "delete");
        assert.deepEqual(r.seen.get("before-1")?.data, { value: "2" });
        // The relist can match before the next watch is open: both within the 10 s.
        await until(
          "the watch open again",
          () => r.reflector.watching,
          Math.max(0, 10_000 - (Date.now() - back)),
        );
        assert.ok(r.restarts("error") >= 1, "the broken connection was counted");
        // Either the resume was refused (410) and it relisted, or the new apiserver could still serve it.
        if (r.restarts("gone") > 0) assert.ok(r.lists() >= 2, "relisted after 410 Gone");
        console.log(
          `back in ${Date.now() - back} ms; restarts error=${r.restarts("error")} gone=${
            r.restarts("gone")
          }` +
            ` list_error=${r.restarts("list_error")}; lists=${r.lists()}`,
        );
      } finally {
        await r.reflector.stop();
      }
    },
  );
});
