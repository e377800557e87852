import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import {
  applicationResponse,
  type Message,
  parseApplicationKey,
  readApplication,
} from "../../lib/protocol/mod.ts";
import { EdgeStore } from "../store/mod.ts";
import { ServiceLister, type ServiceUplink } from "./service_lister.ts";

const quiet = createLogger({ level: "error", write: () => {} });

const service = (namespace: string, name: string, clusterIP: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace, name },
  spec: { clusterIP, ports: [{ port: 80, protocol: "TCP" }] },
});

/** A cloud that answers Applications from `services` (namespace -> Services), or never when `silent`. */
function cloud(services: Map<string, ReturnType<typeof service>[]>) {
  const asked: string[] = [];
  const hub: ServiceUplink & { connected: boolean; silent: boolean } = {
    connected: true,
    silent: false,
    request(message: Message, timeoutMs: number): Promise<Message> {
      const app = readApplication(message.content);
      assert.ok(app.success);
      asked.push(`${app.output.Verb} ${app.output.Key}`);
      if (hub.silent) {
        return new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), timeoutMs));
      }
      const key = parseApplicationKey(app.output.Key)!;
      const items = services.get(key.namespace) ?? [];
      if (!key.name) return Promise.resolve(applicationResponse(message, app.output, { body: { items } }));
      const found = items.find((s) => s.metadata.name === key.name);
      return Promise.resolve(
        applicationResponse(
          message,
          app.output,
          found ? { body: found } : { errStatus: { code: 404, reason: "NotFound", message: "not found" } },
        ),
      );
    },
  };
  return { hub, asked };
}

Deno.test("services are asked of the cloud, stored, and served from the store when the cloud is away", async () => {
  const store = new EdgeStore(":memory:", quiet);
  try {
    const data = new Map([
      ["default", [service("default", "kubernetes", "10.0.0.1"), service("default", "web", "10.0.0.2")]],
      ["app", [service("app", "api", "10.0.0.3")]],
    ]);
    const { hub, asked } = cloud(data);
    const lister = new ServiceLister(store.database, quiet);
    lister.connect(hub, "edge-1");

    const names = (list: { namespace: string; name: string }[]) =>
      list.map((s) => `${s.namespace}/${s.name}`).sort();
    assert.deepEqual(names(await lister.services("app", true)), ["app/api", "default/kubernetes"]);
    assert.deepEqual(asked.sort(), [
      "get /core/v1/services/default/kubernetes",
      "list /core/v1/services/app/null",
    ]);
    assert.deepEqual(names(await lister.services("app", false)), ["default/kubernetes"]);
    assert.deepEqual(names(await lister.services("default", true)), ["default/kubernetes", "default/web"]);

    // A Service deleted in the cloud leaves the store with the next answer.
    data.set("app", []);
    await new Promise((r) => setTimeout(r, 2_100));
    assert.deepEqual(names(await lister.services("app", true)), ["default/kubernetes"]);

    data.set("app", [service("app", "api", "10.0.0.3")]);
    await new Promise((r) => setTimeout(r, 2_100));
    await lister.services("app", true);
    hub.connected = false;
    asked.length = 0;
    assert.deepEqual(names(await lister.services("app", true)), ["app/api", "default/kubernetes"]);
    assert.deepEqual(asked, [], "not asked while disconnected");
  } finally {
    store.close();
  }
});

Deno.test("a cloud that does not answer is not asked again for a while; the stored answer is used", async () => {
  const store = new EdgeStore(":memory:", quiet);
  try {
    const { hub, asked } = cloud(new Map([["app", [service("app", "api", "10.0.0.3")]]]));
    const lister = new ServiceLister(store.database, quiet, { timeoutMs: 50, holdMs: 60_000 });
    lister.connect(hub, "edge-1");
    assert.equal((await lister.services("app", true)).length, 1);
    await new Promise((r) => setTimeout(r, 2_100));
    hub.silent = true;
    asked.length = 0;
    const started = Date.now();
    assert.equal((await lister.services("app", true)).length, 1);
    assert.equal(asked.length, 2);
    assert.equal((await lister.services("app", true)).length, 1);
    assert.equal(asked.length, 2, "held after the timeout");
    assert.ok(Date.now() - started < 1_000);
  } finally {
    store.close();
  }
});
