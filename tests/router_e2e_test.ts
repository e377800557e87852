// The Router end to end, as a KubeEdge user runs it: cloudcore with modules.router, a joined edgecore with
// modules.serviceBus, RuleEndpoints and Rules applied with kubectl (KubeEdge's sample shapes), the rest
// endpoint called with fetch, the box's MQTT side with the real mosquitto clients, an HTTP server in the
// "cloud" and an app on the "box". Each rule is removed again and its route is gone; bad input is refused.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { mosquittoPub, mosquittoSub, type Subscriber } from "./harness/mqtt_clients.ts";

const NODE = "edge-rt";
const MAX_BODY = 64 * 1024;

async function waitFor<T>(what: string, check: () => Promise<T | false>, timeoutMs: number, everyMs = 100) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const endpoints = (servicePort: number, downPort: number) => `
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: {name: my-rest, namespace: default}
spec: {ruleEndpointType: "rest", properties: {}}
---
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: {name: my-eventbus, namespace: default}
spec: {ruleEndpointType: "eventbus", properties: {}}
---
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: {name: my-servicebus, namespace: default}
spec: {ruleEndpointType: "servicebus", properties: {"service_port": "${servicePort}"}}
---
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: {name: down-servicebus, namespace: default}
spec: {ruleEndpointType: "servicebus", properties: {"service_port": "${downPort}"}}
`;

const rule = (name: string, source: string, from: object, target: string, to: object) => `
apiVersion: rules.kubeedge.io/v1
kind: Rule
metadata: {name: ${name}, namespace: default}
spec:
  source: "${source}"
  sourceResource: ${JSON.stringify(from)}
  target: "${target}"
  targetResource: ${JSON.stringify(to)}
`;

interface RuleJson {
  status?: { successMessages?: number; failMessages?: number; errors?: string[] };
}

Deno.test("router: rest -> eventbus, eventbus -> rest, rest -> servicebus by kubectl-applied rules, removal, bad input", async (t) => {
  await using cp = await startControlPlane();
  const kubectl = kubectlFor(cp.kubeconfigPath);
  const ruleStatus = async (name: string) =>
    (JSON.parse(await kubectl(["get", "rule", name, "-n", "default", "-o", "json"])) as RuleJson).status ??
      {};
  const run = await createRunDir("router");
  const record = (pid: number) => run.record(pid);
  const routerPort = freePort();
  const posts: Array<{ body: string; node: string | null; path: string }> = [];
  const cloudApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    posts.push({
      body: await req.text(),
      node: req.headers.get("nodename"),
      path: new URL(req.url).pathname,
    });
    return new Response("stored");
  });
  const boxApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const answer = { method: req.method, path: url.pathname, query: url.search, body: await req.text() };
    return new Response(JSON.stringify(answer), {
      status: 201,
      headers: { "content-type": "application/json", "x-box": "app" },
    });
  });
  const downPort = freePort();
  const stops: Array<() => Promise<void>> = [];
  const subs: Subscriber[] = [];
  const rest = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${routerPort}${path}`, init);
  const post = async (path: string, body: string) => {
    const res = await rest(path, { method: "POST", body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  try {
    const cloud = await startCloud(run, cp, {
      router: {
        enable: true,
        address: "127.0.0.1",
        port: routerPort,
        restTimeout: 5,
        maxBodyBytes: MAX_BODY,
      },
    });
    stops.push(() => cloud.stop());
    const joined = await joinEdge(run, cloud, NODE, (config) => {
      config.modules!.serviceBus = { enable: true, timeout: 3 };
    });
    const mqttPort = Number(
      /:(\d+)$/.exec(
        parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal,
      )![1],
    );
    const edge = await startEdge(run, joined);
    stops.push(() => edge.stop());
    await edge.waitForLog("connected to cloudcore", 30_000);
    await kubectl(["apply", "-f", "-"], endpoints(boxApp.addr.port, downPort));
    const sub = async (filters: string[]) => {
      const s = await mosquittoSub(mqttPort, filters, { record });
      subs.push(s);
      return s;
    };

    await t.step("cloudcore installed the Rule CRDs as KubeEdge defines them", async () => {
      const crd = JSON.parse(await kubectl(["get", "crd", "rules.rules.kubeedge.io", "-o", "json"]));
      assert.equal(crd.spec.group, "rules.kubeedge.io");
      assert.equal(crd.spec.versions[0].name, "v1");
      await kubectl(["get", "ruleendpoints.rules.kubeedge.io", "my-servicebus", "-n", "default"]);
    });

    await t.step(
      "rest -> eventbus: a POST to /{node}/{namespace}/{path} lands on mosquitto_sub on the box",
      async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("rest-to-box", "my-rest", { path: "/to-box" }, "my-eventbus", { topic: "cloud/in" }),
        );
        const s = await sub(["cloud/in", "cloud/in/#"]);
        const { ms } = await waitFor("the rule routed", async () => {
          const out = await post(`/${NODE}/default/to-box`, "hello");
          return out.status === 200 ? out : false;
        }, 20_000);
        const got = await s.next((m) => m.topic === "cloud/in" && m.payload === "hello", 5_000);
        console.log(`rest -> eventbus routed ${ms} ms after kubectl apply; delivered at ${got.receivedAt}`);
        const deep = await post(`/${NODE}/default/to-box/room/7`, "deeper");
        assert.equal(deep.status, 200);
        assert.equal(deep.text, "message delivered");
        await s.next((m) => m.topic === "cloud/in/room/7" && m.payload === "deeper", 5_000);
        await waitFor(
          "successMessages >= 2",
          async () => ((await ruleStatus("rest-to-box")).successMessages ?? 0) >= 2,
          5_000,
        );
      },
    );

    await t.step(
      "eventbus -> rest: mosquitto_pub on the box reaches an HTTP server in the cloud",
      async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("box-to-cloud", "my-eventbus", { topic: "up", node_name: NODE }, "my-rest", {
            resource: `http://127.0.0.1:${cloudApp.addr.port}/ingest`,
          }),
        );
        let n = 0;
        const { value } = await waitFor(
          "an upload at the cloud's server",
          async () => {
            const body = `reading-${n++}`;
            await mosquittoPub(mqttPort, "default/up", body, { record });
            await new Promise((r) => setTimeout(r, 200));
            return posts.find((p) => p.body.startsWith("reading-")) ?? false;
          },
          20_000,
          0,
        );
        assert.equal(value.node, NODE, "header NodeName names the box");
        assert.equal(value.path, "/ingest");
        await waitFor(
          "successMessages >= 1",
          async () => ((await ruleStatus("box-to-cloud")).successMessages ?? 0) >= 1,
          5_000,
        );
      },
    );

    await t.step("rest -> servicebus: a POST returns the box app's answer", async () => {
      await kubectl(
        ["apply", "-f", "-"],
        rule("rest-to-app", "my-rest", { path: "/svc" }, "my-servicebus", { path: "/api" }),
      );
      const { value } = await waitFor("the app's answer", async () => {
        const out = await post(`/${NODE}/default/svc/item/3?x=1`, "ping");
        return out.status === 201 ? out : false;
      }, 20_000);
      assert.deepEqual(JSON.parse(value.text), {
        method: "POST",
        path: "/api/item/3",
        query: "?x=1",
        body: "ping",
      });
      assert.equal(value.headers.get("x-box"), "app");
      const started = performance.now();
      const again = await post(`/${NODE}/default/svc`, "");
      console.log(`rest -> servicebus round trip: ${(performance.now() - started).toFixed(1)} ms`);
      assert.equal(again.status, 201);
      assert.equal(JSON.parse(again.text).path, "/api");
      await waitFor(
        "successMessages >= 2",
        async () => ((await ruleStatus("rest-to-app")).successMessages ?? 0) >= 2,
        5_000,
      );
    });

    await t.step(
      "bad input: oversize body, unknown node, a rule naming another node, an app that is down",
      async () => {
        const big = await post(`/${NODE}/default/to-box`, "x".repeat(MAX_BODY + 1));
        assert.equal(big.status, 413);
        const unknown = await post(`/no-such-node/default/to-box`, "hi");
        assert.equal(unknown.status, 404);
        assert.match(unknown.text, /no such edge node/);
        const noRule = await post(`/${NODE}/default/nothing-here`, "hi");
        assert.equal(noRule.status, 404);
        const badPath = await post(`/${NODE}`, "hi");
        assert.equal(badPath.status, 404);

        await kubectl(
          ["apply", "-f", "-"],
          rule("other-node", "my-eventbus", { topic: "other", node_name: "edge-other" }, "my-rest", {
            resource: `http://127.0.0.1:${cloudApp.addr.port}/other`,
          }),
        );
        await kubectl(
          ["apply", "-f", "-"],
          rule("app-down", "my-rest", { path: "/down" }, "down-servicebus", { path: "/x" }),
        );
        const down = await waitFor("the edge's own answer", async () => {
          const out = await post(`/${NODE}/default/down`, "hi");
          return out.status === 404 && out.headers.get("server") === "kubeedge-edgecore" ? out : false;
        }, 20_000);
        assert.match(down.value.text, /error to call service/);
        for (let i = 0; i < 3; i++) {
          await mosquittoPub(mqttPort, "default/other", `not-mine-${i}`, { record });
        }
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(
          posts.filter((p) => p.path === "/other").length,
          0,
          "a rule for edge-other takes nothing from this box",
        );
        const status = await waitFor("failMessages and the error", async () => {
          const s = await ruleStatus("app-down");
          return (s.failMessages ?? 0) >= 1 && s.errors?.length === 1 ? s : false;
        }, 5_000);
        assert.match(status.value.errors![0]!, /error to call service/);
        await kubectl(
          ["apply", "-f", "-"],
          rule("no-endpoint", "missing-rest", { path: "/m" }, "my-eventbus", { topic: "m" }),
        );
        await waitFor("the reason it is not routed", async () => {
          const s = await ruleStatus("no-endpoint");
          return /source rule endpoint default\/missing-rest does not exist/.test(s.errors?.[0] ?? "");
        }, 5_000);
        const refused = await metric(cloud.ports.metrics, "kedge_cloud_router_refused_total");
        assert.ok((refused ?? 0) >= 1, "refusals are counted");
      },
    );

    await t.step(
      "a rest target that never answers holds up nothing: its POSTs run side by side",
      async () => {
        let hung = 0;
        const release = Promise.withResolvers<void>();
        const hanging = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async () => {
          hung++;
          await release.promise;
          return new Response("late");
        });
        try {
          await kubectl(
            ["apply", "-f", "-"],
            rule("box-to-slow", "my-eventbus", { topic: "slow", node_name: NODE }, "my-rest", {
              resource: `http://127.0.0.1:${hanging.addr.port}/`,
            }),
          );
          await edge.waitForLog(/subscribed for the cloud/, 5_000);
          await waitFor(
            "three POSTs waiting at once",
            async () => {
              await mosquittoPub(mqttPort, "default/slow", "m", { record });
              return hung >= 3;
            },
            4_000,
            200,
          );
          const before = posts.length;
          await mosquittoPub(mqttPort, "default/up", "beside-the-slow-ones", { record });
          await waitFor(
            "another rule's message meanwhile",
            () => Promise.resolve(posts.length > before),
            3_000,
            50,
          );
        } finally {
          release.resolve();
          await hanging.shutdown();
        }
      },
    );

    await t.step("rules removed: their routes are gone", async () => {
      await kubectl([
        "delete",
        "rule",
        "rest-to-box",
        "box-to-cloud",
        "rest-to-app",
        "box-to-slow",
        "-n",
        "default",
      ]);
      await waitFor("rest routes gone", async () => {
        const a = await post(`/${NODE}/default/to-box`, "late");
        const b = await post(`/${NODE}/default/svc`, "late");
        return a.status === 404 && b.status === 404;
      }, 10_000);
      await edge.waitForLog("unsubscribed for the cloud", 5_000);
      const before = posts.length;
      await mosquittoPub(mqttPort, "default/up", "after-removal", { record });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(posts.length, before, "nothing reaches the cloud's server once the rule is gone");
    });
  } finally {
    for (const s of subs) await s.stop().catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await cloudApp.shutdown();
    await boxApp.shutdown();
  }
});
