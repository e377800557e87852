// The Router against the real peer, both directions. (1) KubeEdge v1.23.1's cloudcore with its router module
// on, kedge's edgecore joined to it with its ServiceBus on: KubeEdge's rest endpoint, rule handling and
// messages drive kedge's box. (2) kedge's cloudcore with its Router, KubeEdge's edgecore (its EventBus on a
// mosquitto, its ServiceBus on) joined to it: kedge's messages drive KubeEdge's box. Each: rest -> eventbus
// lands on mosquitto_sub, mosquitto_pub reaches an HTTP server, rest -> servicebus returns the box app's
// answer. Skipped, with the build script's one-line reason, where no KubeEdge source snapshot exists.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { createRunDir, freePort, startControlPlane } from "./cluster/mod.ts";
import { join } from "node:path";
import { startTestRuntime } from "./containerd/mod.ts";
import { getToken, joinEdge, startCloud, startEdge } from "./harness/kedge.ts";
import { kubectlFor } from "./harness/kubectl.ts";
import { mosquittoPub, mosquittoSub, startMosquitto, type Subscriber } from "./harness/mqtt_clients.ts";
import { kubeEdgeBinaries, startKubeEdgeCloud } from "./kubeedge/cloud.ts";
import { startKubeEdgeEdge } from "./kubeedge/edge.ts";

const NODE = "kedge-router-on-kubeedge";
const bins = await kubeEdgeBinaries();
if ("missing" in bins) console.log(`skipping the KubeEdge router tests: ${bins.missing}`);

async function waitFor<T>(what: string, check: () => Promise<T | false>, timeoutMs: number, everyMs = 250) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const endpoint = (name: string, type: string, properties: Record<string, string> = {}) => `
apiVersion: rules.kubeedge.io/v1
kind: RuleEndpoint
metadata: {name: ${name}, namespace: default}
spec: {ruleEndpointType: "${type}", properties: ${JSON.stringify(properties)}}
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

Deno.test({
  name: "kedge edgecore under KubeEdge's router: rest -> eventbus, eventbus -> rest, rest -> servicebus",
  ignore: "missing" in bins,
  async fn(t) {
    if ("missing" in bins) return;
    await using cp = await startControlPlane();
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const run = await createRunDir("router-kubeedge");
    const record = (pid: number) => run.record(pid);
    const routerPort = freePort();
    const posts: Array<{ body: string; node: string | null }> = [];
    const cloudApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      posts.push({ body: await req.text(), node: req.headers.get("nodename") });
      return new Response("stored");
    });
    const boxApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      const url = new URL(req.url);
      return Response.json({ method: req.method, path: url.pathname, body: await req.text() }, {
        headers: { "x-box": "app" },
      });
    });
    const stops: Array<() => Promise<void>> = [];
    const subs: Subscriber[] = [];
    const post = async (path: string, body: string) => {
      const res = await fetch(`http://127.0.0.1:${routerPort}${path}`, { method: "POST", body });
      return { status: res.status, text: await res.text(), headers: res.headers };
    };
    try {
      const cloud = await startKubeEdgeCloud(run, cp, bins, { router: { port: routerPort } });
      stops.push(() => cloud.stop());
      const joined = await joinEdge(run, cloud, NODE, (config) => {
        config.modules!.serviceBus = { enable: true, timeout: 5 };
      });
      const mqttPort = Number(
        /:(\d+)$/.exec(
          parse(await Deno.readTextFile(joined.configFile)).modules.eventBus.mqttServerInternal,
        )![1],
      );
      const edge = await startEdge(run, joined);
      stops.push(() => edge.stop());
      await edge.waitForLog("connected to cloudcore", 60_000);
      await waitFor("the node registered", async () => {
        const node = await kubectl(["get", "node", NODE, "-o", "json"]).catch(() => "");
        return node !== "" && JSON.parse(node).metadata.annotations?.cloudcore !== undefined;
      }, 60_000);
      await kubectl(
        ["apply", "-f", "-"],
        endpoint("my-rest", "rest") + "---" + endpoint("my-eventbus", "eventbus") + "---" +
          endpoint("my-servicebus", "servicebus", { service_port: String(boxApp.addr.port) }),
      );
      // KubeEdge's router retries a rule whose endpoints it has not seen after 5 s: give them a moment.
      await new Promise((r) => setTimeout(r, 1000));

      await t.step("rest -> eventbus: KubeEdge's rest endpoint publishes on kedge's box", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("rest-to-box", "my-rest", { path: "/to-box" }, "my-eventbus", { topic: "cloud/in" }),
        );
        const s = await mosquittoSub(mqttPort, ["cloud/in"], { record });
        subs.push(s);
        await waitFor(
          "a delivered message",
          async () => {
            const out = await post(`/${NODE}/default/to-box`, "hello").catch(() => undefined);
            return out?.status === 200 ? out : false;
          },
          40_000,
          500,
        );
        await s.next((m) => m.topic === "cloud/in" && m.payload === "hello", 10_000);
      });

      await t.step("eventbus -> rest: KubeEdge's subscribe, kedge's upload, KubeEdge's POST", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("box-to-cloud", "my-eventbus", { topic: "up", node_name: NODE }, "my-rest", {
            resource: `http://127.0.0.1:${cloudApp.addr.port}/ingest`,
          }),
        );
        await edge.waitForLog("subscribed for the cloud", 30_000);
        let n = 0;
        const hit = await waitFor(
          "an upload at the cloud's server",
          async () => {
            await mosquittoPub(mqttPort, "default/up", `reading-${n++}`, { record });
            await new Promise((r) => setTimeout(r, 300));
            return posts.find((p) => p.body.startsWith("reading-")) ?? false;
          },
          30_000,
          0,
        );
        // KubeEdge's eventbus source hands its rest target no node name: its POST has no NodeName header.
        assert.equal(hit.node, null);
      });

      await t.step("rest -> servicebus: KubeEdge's call, kedge's ServiceBus, the app's answer", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("rest-to-app", "my-rest", { path: "/svc" }, "my-servicebus", { path: "/api" }),
        );
        const out = await waitFor(
          "the app's answer",
          async () => {
            const res = await post(`/${NODE}/default/svc`, "ping").catch(() => undefined);
            return res?.status === 200 ? res : false;
          },
          40_000,
          500,
        );
        assert.deepEqual(JSON.parse(out.text), { method: "POST", path: "/api", body: "ping" });
        assert.equal(out.headers.get("x-box"), "app");
      });

      await t.step(
        "KubeEdge's cloudcore leaves Rule.status empty (it patches the counts at the root)",
        async () => {
          await new Promise((r) => setTimeout(r, 2000));
          const rule = JSON.parse(
            await kubectl(["get", "rule", "rest-to-box", "-n", "default", "-o", "json"]),
          );
          console.log(`KubeEdge's Rule after routing: status ${JSON.stringify(rule.status ?? null)}`);
          assert.equal(rule.status?.successMessages, undefined);
          assert.equal(rule.successMessages, undefined, "pruned by the apiserver");
        },
      );
    } finally {
      for (const s of subs) await s.stop().catch(() => {});
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await cloudApp.shutdown();
      await boxApp.shutdown();
    }
  },
});

Deno.test({
  name: "KubeEdge's edgecore under kedge's Router: rest -> eventbus, eventbus -> rest, rest -> servicebus",
  ignore: "missing" in bins,
  async fn(t) {
    if ("missing" in bins) return;
    const EDGE = "kubeedge-router-on-kedge";
    await using cp = await startControlPlane();
    const kubectl = kubectlFor(cp.kubeconfigPath);
    const rt = await startTestRuntime("router-kubeedge-edge");
    const run = await createRunDir("router-kubeedge-edge");
    const record = (pid: number) => run.record(pid);
    const routerPort = freePort();
    const posts: Array<{ body: string; node: string | null }> = [];
    const cloudApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      posts.push({ body: await req.text(), node: req.headers.get("nodename") });
      return new Response("stored");
    });
    const boxApp = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
      const url = new URL(req.url);
      return Response.json({ method: req.method, path: url.pathname, body: await req.text() }, {
        status: 201,
        headers: { "x-box": "app" },
      });
    });
    const stops: Array<() => Promise<void>> = [];
    const subs: Subscriber[] = [];
    const post = async (path: string, body: string) => {
      const res = await fetch(`http://127.0.0.1:${routerPort}${path}`, { method: "POST", body });
      return { status: res.status, text: await res.text(), headers: res.headers };
    };
    try {
      const mqttPort = freePort();
      const mosquitto = await startMosquitto({ dir: run.path, port: mqttPort, record });
      stops.push(() => mosquitto.stop());
      const cloud = await startCloud(run, cp, {
        router: { enable: true, address: "127.0.0.1", port: routerPort },
      });
      stops.push(() => cloud.stop());
      const token = await getToken(cloud);
      const edge = await startKubeEdgeEdge(run, bins, { ...cloud.ports, token }, rt, EDGE, {
        overrides: (m, dir) => {
          m.eventBus = {
            ...m.eventBus,
            enable: true,
            mqttMode: 2,
            mqttServerExternal: `tcp://127.0.0.1:${mqttPort}`,
          };
          m.serviceBus = { ...m.serviceBus, enable: true, port: freePort(), timeout: 5 };
          m.deviceTwin = { ...m.deviceTwin, enable: false, dmiSockPath: join(dir, "dmi") };
        },
      });
      stops.push(() => edge.stop());
      await kubectl(
        ["apply", "-f", "-"],
        endpoint("my-rest", "rest") + "---" + endpoint("my-eventbus", "eventbus") + "---" +
          endpoint("my-servicebus", "servicebus", { service_port: String(boxApp.addr.port) }),
      );

      await t.step("rest -> eventbus: kedge's rest endpoint publishes on KubeEdge's box", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("rest-to-box", "my-rest", { path: "/to-box" }, "my-eventbus", { topic: "cloud/in" }),
        );
        const s = await mosquittoSub(mqttPort, ["cloud/in"], { record });
        subs.push(s);
        await waitFor(
          "a delivered message",
          async () => {
            const out = await post(`/${EDGE}/default/to-box`, "hello");
            return out.status === 200 ? out : false;
          },
          90_000,
          500,
        );
        await s.next((m) => m.topic === "cloud/in" && m.payload === "hello", 10_000);
      });

      await t.step("eventbus -> rest: kedge's subscribe, KubeEdge's upload, kedge's POST", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("box-to-cloud", "my-eventbus", { topic: "up", node_name: EDGE }, "my-rest", {
            resource: `http://127.0.0.1:${cloudApp.addr.port}/ingest`,
          }),
        );
        let n = 0;
        const hit = await waitFor(
          "an upload at the cloud's server",
          async () => {
            await mosquittoPub(mqttPort, "default/up", `reading-${n++}`, { record });
            await new Promise((r) => setTimeout(r, 300));
            return posts.find((p) => p.body.startsWith("reading-")) ?? false;
          },
          30_000,
          0,
        );
        assert.equal(hit.node, EDGE);
      });

      await t.step("rest -> servicebus: kedge's call, KubeEdge's ServiceBus, the app's answer", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          rule("rest-to-app", "my-rest", { path: "/svc" }, "my-servicebus", { path: "/api" }),
        );
        const out = await waitFor(
          "the app's answer",
          async () => {
            const res = await post(`/${EDGE}/default/svc/x`, "ping");
            return res.status === 201 ? res : false;
          },
          30_000,
          500,
        );
        assert.deepEqual(JSON.parse(out.text), { method: "POST", path: "/api/x", body: "ping" });
        assert.equal(out.headers.get("x-box"), "app");
      });

      await t.step("rest -> servicebus to an app that is down: KubeEdge's box answers itself", async () => {
        await kubectl(
          ["apply", "-f", "-"],
          endpoint("down-servicebus", "servicebus", { service_port: String(freePort()) }) + "---" +
            rule("rest-to-down", "my-rest", { path: "/down" }, "down-servicebus", { path: "/x" }),
        );
        const out = await waitFor(
          "the box's own answer",
          async () => {
            const res = await post(`/${EDGE}/default/down`, "ping");
            return res.status === 404 ? res : false;
          },
          30_000,
          500,
        );
        assert.equal(out.headers.get("server"), "kubeedge-edgecore");
        assert.match(out.text, /error to call service/);
      });
    } finally {
      for (const s of subs) await s.stop().catch(() => {});
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await cloudApp.shutdown();
      await boxApp.shutdown();
      await rt.stop();
    }
  },
});
