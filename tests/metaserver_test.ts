// The MetaServer on the box: kubectl lists the node's pods from the SQLite store with the cloud up and
// down, selectors and watches behave like the apiserver's, writes go to the cloud or are refused clearly.
import assert from "node:assert/strict";
import { join } from "node:path";
import { startMetaServer } from "../edge/server/mod.ts";
import { EdgeStore } from "../edge/store/mod.ts";
import { createLogger } from "../lib/log.ts";
import { controlPlaneBinaries } from "./cluster/mod.ts";

const NODE = "edge-meta";
const log = createLogger({ level: "error", component: "test" });

function pod(name: string, rv: number, labels: Record<string, string>, node = NODE, phase = "Running") {
  return {
    key: `default/pod/${name}`,
    type: "pod",
    uid: `uid-${name}`,
    resourceVersion: String(rv),
    value: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: String(rv), labels },
      spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }] },
      status: { phase },
    },
  };
}

async function kubectl(
  args: string[],
  kubeconfig: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { kubectl } = await controlPlaneBinaries();
  const out = await new Deno.Command(kubectl, {
    args,
    env: { KUBECONFIG: kubeconfig },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("the MetaServer serves the node's objects from the store, online and offline", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "metaserver-" });
  const store = new EdgeStore(join(dir, "edgecore.db"), log);
  const emptyKubeconfig = join(dir, "kubeconfig");
  await Deno.writeTextFile(emptyKubeconfig, "apiVersion: v1\nkind: Config\n");
  store.put(pod("web", 10, { app: "web", tier: "front" }));
  store.put(pod("db", 11, { app: "db" }, NODE, "Pending"));
  store.put(pod("elsewhere", 12, { app: "web" }, "other-node"));
  store.put({
    key: "default/configmap/settings",
    type: "configmap",
    uid: "uid-cm",
    resourceVersion: "13",
    value: {
      metadata: { name: "settings", namespace: "default", uid: "uid-cm", resourceVersion: "13" },
      data: { a: "1" },
    },
  });
  store.put({
    key: `default/node/${NODE}`,
    type: "node",
    uid: "uid-node",
    resourceVersion: "14",
    value: { metadata: { name: NODE, uid: "uid-node", resourceVersion: "14" } },
  });
  let cloudUp = true;
  const forwarded: Array<{ method: string; path: string; body: string }> = [];
  const meta = await startMetaServer({
    port: 0,
    nodeName: NODE,
    store,
    log,
    pollMs: 100,
    connected: () => cloudUp,
    forward: async (request) => {
      forwarded.push({
        method: request.method,
        path: new URL(request.url).pathname,
        body: await request.text(),
      });
      return new Response(
        JSON.stringify({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "made" } }),
        {
          status: 201,
          headers: { "content-type": "application/json" },
        },
      );
    },
  });
  const server = `http://127.0.0.1:${meta.port}`;
  const get = async (path: string) => {
    const res = await fetch(`${server}${path}`);
    return { status: res.status, body: await res.json() };
  };
  try {
    await t.step("kubectl get pods lists the node's pods with the cloud up and with it down", async () => {
      for (const up of [true, false]) {
        cloudUp = up;
        const out = await kubectl(["--server", server, "get", "pods", "-o", "name"], emptyKubeconfig);
        assert.equal(out.code, 0, out.stderr);
        assert.deepEqual(out.stdout.trim().split("\n").sort(), ["pod/db", "pod/web"]);
      }
      cloudUp = true;
      const table = await kubectl(["--server", server, "get", "pods"], emptyKubeconfig);
      assert.match(table.stdout, /^NAME\s/);
      assert.match(table.stdout, /\nweb\s/);
      assert.doesNotMatch(table.stdout, /elsewhere/);
    });

    await t.step("label and field selectors filter lists as the apiserver does", async () => {
      const names = async (query: string) =>
        (await get(`/api/v1/namespaces/default/pods?${query}`)).body.items.map((
          p: { metadata: { name: string } },
        ) => p.metadata.name).sort();
      assert.deepEqual(await names("labelSelector=app%3Dweb"), ["web"]);
      assert.deepEqual(await names("labelSelector=app%20in%20(web,db)"), ["db", "web"]);
      assert.deepEqual(await names("labelSelector=app%20in%20(db,cache)"), ["db"]);
      assert.deepEqual(await names("labelSelector=app%20notin%20(web)"), ["db"]);
      assert.deepEqual(await names("labelSelector=app!%3Dweb"), ["db"]);
      assert.deepEqual(await names("labelSelector=tier"), ["web"]);
      assert.deepEqual(await names("labelSelector=!tier"), ["db"]);
      assert.deepEqual(await names("fieldSelector=status.phase%3DPending"), ["db"]);
      assert.deepEqual(await names("fieldSelector=metadata.name%3Dweb,status.phase%3DRunning"), ["web"]);
      const out = await kubectl(
        ["--server", server, "get", "pods", "-l", "app=db", "-o", "name"],
        emptyKubeconfig,
      );
      assert.equal(out.stdout.trim(), "pod/db");
    });

    await t.step(
      "get, the Node, ConfigMaps and discovery answer; unknown names get a NotFound Status",
      async () => {
        assert.equal((await get("/api/v1/namespaces/default/pods/web")).body.metadata.name, "web");
        const missing = await get("/api/v1/namespaces/default/pods/nope");
        assert.equal(missing.status, 404);
        assert.equal(missing.body.reason, "NotFound");
        assert.equal(
          (await get("/api/v1/namespaces/default/pods/elsewhere")).status,
          404,
          "another node's pod",
        );
        assert.deepEqual(
          (await get("/api/v1/nodes")).body.items.map((n: { metadata: { name: string } }) => n.metadata.name),
          [NODE],
        );
        assert.equal((await get("/api/v1/namespaces/default/configmaps/settings")).body.data.a, "1");
        assert.equal(
          (await get("/api/v1/namespaces/default/configmaps")).body.metadata.resourceVersion,
          "14",
        );
        assert.equal((await get("/api/v1/namespaces/default/deployments")).status, 404);
        assert.equal((await get("/api/v1/pods?labelSelector=a%20in%20(")).status, 400);
      },
    );

    await t.step("a watch from a list's resourceVersion streams a change made in the cloud", async () => {
      const list = await get("/api/v1/namespaces/default/pods");
      const controller = new AbortController();
      const res = await fetch(
        `${server}/api/v1/namespaces/default/pods?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`,
        { signal: controller.signal },
      );
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      // The cloud updates web, adds cache, deletes db: what the hub applies to the store.
      store.put(pod("web", 20, { app: "web", tier: "front" }, NODE, "Succeeded"));
      store.put(pod("cache", 21, { app: "cache" }));
      store.delete("default/pod/db");
      meta.notify();
      let text = "";
      while (text.split("\n").filter(Boolean).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      controller.abort();
      await reader.cancel().catch(() => {});
      const events = text.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
        "MODIFIED web",
        "ADDED cache",
        "DELETED db",
      ]);
      assert.equal(events[0].object.status.phase, "Succeeded");
    });

    await t.step("kubectl get pods --watch prints a change as it happens", async () => {
      const { kubectl: bin } = await controlPlaneBinaries();
      const child = new Deno.Command(bin, {
        args: ["--server", server, "get", "pods", "--watch", "-o", "name", "-l", "app=late"],
        env: { KUBECONFIG: emptyKubeconfig },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 700));
      store.put(pod("late", 30, { app: "late" }));
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      const deadline = Date.now() + 10_000;
      while (!seen.includes("pod/late") && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      child.kill("SIGTERM");
      await reader.cancel().catch(() => {});
      await child.status;
      await child.stderr.cancel().catch(() => {});
      assert.match(seen, /pod\/late/);
    });

    await t.step("a watch from a resourceVersion no longer kept gets 410 Expired", async () => {
      // One scan sees only the last version of an object: notify after each put so each is an event.
      for (let i = 0; i < 1005; i++) {
        store.put(pod("churn2", 2000 + i, {}));
        meta.notify();
      }
      const res = await fetch(`${server}/api/v1/namespaces/default/pods?watch=1&resourceVersion=15`);
      const line = JSON.parse((await res.text()).trim());
      assert.equal(line.type, "ERROR");
      assert.equal(line.object.code, 410);
    });

    await t.step("writes go to the cloud when connected and are refused with 503 when not", async () => {
      const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "made" } });
      const sent = await fetch(`${server}/api/v1/namespaces/default/configmaps`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      assert.equal(sent.status, 201);
      await sent.body?.cancel();
      assert.deepEqual(forwarded.at(-1), {
        method: "POST",
        path: "/api/v1/namespaces/default/configmaps",
        body,
      });
      cloudUp = false;
      const refused = await fetch(`${server}/api/v1/namespaces/default/configmaps`, { method: "POST", body });
      assert.equal(refused.status, 503);
      const statusBody = await refused.json();
      assert.equal(statusBody.kind, "Status");
      assert.match(statusBody.message, /cloud is not connected/);
      const out = await kubectl(["--server", server, "delete", "pod", "web"], emptyKubeconfig);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, /cloud is not connected/);
      assert.equal(forwarded.length, 1);
    });
  } finally {
    await meta.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
