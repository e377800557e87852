import assert from "node:assert/strict";
import type { PodContext } from "./field_ref.ts";
import type { ObjectLookup, SecretData } from "./objects.ts";
import { parsePod } from "./pod_schema.ts";
import { podPullCredentials } from "./pull_secrets.ts";

const ctxWith = (names: string[]): PodContext => ({
  pod: parsePod({
    metadata: { name: "p", namespace: "ns" },
    spec: { imagePullSecrets: names.map((name) => ({ name })), containers: [{ name: "c", image: "i" }] },
  }),
  uid: "u",
  namespace: "ns",
  nodeName: "n",
  hostIP: "",
  podIP: "",
});
const lookup = (secrets: Record<string, SecretData>): ObjectLookup => ({
  configMap: () => Promise.resolve(undefined),
  secret: (namespace, name) => Promise.resolve(namespace === "ns" ? secrets[name] : undefined),
});
const b64 = (value: unknown) => btoa(JSON.stringify(value));

Deno.test("pull secrets: dockerconfigjson and dockercfg in the pod's order, other types ignored, missing ones an event", async () => {
  const events: string[] = [];
  const credentials = podPullCredentials(
    ctxWith(["json", "cfg", "opaque", "gone"]),
    lookup({
      json: {
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": b64({ auths: { "r.io": { username: "a", password: "1" } } }) },
      },
      cfg: {
        type: "kubernetes.io/dockercfg",
        data: { ".dockercfg": b64({ "https://r.io": { auth: btoa("b:2") } }) },
      },
      opaque: {
        type: "Opaque",
        data: { ".dockerconfigjson": b64({ auths: { "r.io": { username: "c" } } }) },
      },
    }),
    (type, reason, message) => events.push(`${type} ${reason}: ${message}`),
  );
  assert.deepEqual(await credentials("r.io/app:1"), [{ username: "a", password: "1" }, {
    username: "b",
    password: "2",
  }]);
  assert.deepEqual(await credentials("other.io/app"), []);
  assert.deepEqual(events, [
    "Warning FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed.",
  ]);
});

Deno.test("pull secrets: a secret that is not a docker config fails the pull without showing its content", async () => {
  const credentials = podPullCredentials(
    ctxWith(["bad"]),
    lookup({ bad: { type: "kubernetes.io/dockercfg", stringData: { ".dockercfg": "hunter2-not-json" } } }),
    () => {},
  );
  const err = await credentials("r.io/app").then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof TypeError);
  assert.equal(err.message, "Cannot read image pull secret ns/bad: not JSON");
});
