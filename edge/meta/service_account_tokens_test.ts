import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { type Message, newMessage } from "../../lib/protocol/mod.ts";
import { ServiceAccountTokens } from "./service_account_tokens.ts";

const quiet = createLogger({ level: "error", write: () => {} });
const request = {
  namespace: "apps",
  serviceAccount: "robot",
  audiences: [],
  expirationSeconds: 3600,
  pod: { name: "web", uid: "uid-1" },
};

/** An uplink answering each query as the cloud does: a TokenRequest with a token valid `ttlMs` from `now`. */
function uplink(now: () => number, ttlMs = 3_600_000) {
  const asked: Message[] = [];
  const link = {
    connected: true,
    refuse: false,
    send: () => {},
    request(message: Message): Promise<Message> {
      asked.push(message);
      const content = link.refuse
        ? { Object: null, Err: { ErrStatus: { code: 403, reason: "Forbidden", message: "no" } } }
        : {
          ...(message.content as object),
          status: {
            token: `token-${asked.length}`,
            expirationTimestamp: new Date(now() + ttlMs).toISOString(),
          },
        };
      return Promise.resolve(newMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "response",
        resource: message.route.resource,
        content,
        parentId: message.header.msg_id,
      }));
    },
  };
  return { link, asked };
}

Deno.test("service-account tokens: asked once with a TokenRequest bound to the pod, renewed at 80 % of their life", async () => {
  let now = 1_000_000;
  const { link, asked } = uplink(() => now);
  const tokens = new ServiceAccountTokens(link, quiet, () => now);
  assert.equal((await tokens.get(request))?.token, "token-1");
  assert.equal(asked.length, 1);
  assert.equal(asked[0]!.route.operation, "query");
  assert.equal(asked[0]!.route.resource, "apps/serviceaccounttoken/robot");
  const spec = (asked[0]!.content as { spec: Record<string, unknown> }).spec;
  assert.deepEqual(spec.boundObjectRef, { apiVersion: "v1", kind: "Pod", name: "web", uid: "uid-1" });
  assert.equal(spec.expirationSeconds, 3600);

  now += 2_800_000; // 78 % of the hour
  assert.equal((await tokens.get(request))?.token, "token-1", "still fresh: not asked again");
  now += 100_000; // past 80 %
  assert.equal((await tokens.get(request))?.token, "token-2", "renewed");
  assert.equal(asked.length, 2);
});

Deno.test("service-account tokens: the held token serves while the cloud is away or refuses, until it expires", async () => {
  let now = 0;
  const { link, asked } = uplink(() => now);
  const tokens = new ServiceAccountTokens(link, quiet, () => now);
  assert.equal((await tokens.get(request))?.token, "token-1");
  link.connected = false;
  now = 3_000_000; // due for renewal, cloud away
  assert.equal((await tokens.get(request))?.token, "token-1");
  link.connected = true;
  link.refuse = true;
  assert.equal((await tokens.get(request))?.token, "token-1", "a refused renewal keeps the held token");
  now = 3_600_001; // expired
  assert.equal(await tokens.get(request), undefined, "an expired token is never served");
  assert.equal(asked.length, 3, "asked at renewal while connected, and again once expired");
});

Deno.test("service-account tokens: one question for concurrent callers; a deleted pod's tokens are dropped", async () => {
  const now = 0;
  const { link, asked } = uplink(() => now);
  const tokens = new ServiceAccountTokens(link, quiet, () => now);
  const [a, b] = await Promise.all([tokens.get(request), tokens.get(request)]);
  assert.equal(a?.token, "token-1");
  assert.equal(b?.token, "token-1");
  assert.equal(asked.length, 1);
  tokens.forgetPod("uid-1");
  assert.equal((await tokens.get(request))?.token, "token-2");
});
