// Issue 14 end to end: a pod's imagePullSecrets, as the kubelet uses them, against a real registry that wants
// a login (Debian's docker-registry with htpasswd). Without a secret the pull fails with the registry's 401
// in the container's waiting message and a Failed event; a kubernetes.io/dockerconfigjson secret for the
// registry's host and port lets the pod run; a kubernetes.io/dockercfg secret with a wrong password fails as
// the registry says; a secret that does not exist is a FailedToRetrieveImagePullSecret event. The password
// is in no component's log and no event.
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "./containerd/pod_helpers.ts";
import { startPodEdge } from "./harness/pod_edge.ts";

interface EventJson {
  reason: string;
  message: string;
  type: string;
}

Deno.test("imagePullSecrets: a registry that wants a login, through the pod's secrets", async (t) => {
  const login = { username: "puller", password: `pw-${crypto.randomUUID()}` };
  await using env = await startPodEdge("pullsecrets", { login });
  const { kubectl, rt, run } = env;
  const image = rt.images.private!;
  const host = rt.privateRegistry!.host;
  const b64 = (text: string) => btoa(text);
  const dockerConfigJson = JSON.stringify({
    auths: { [`http://${host}`]: { auth: b64(`${login.username}:${login.password}`) } },
  });
  // Another host's login first: the keyring must pick the entry of the image's host and port.
  const dockercfgWrong = JSON.stringify({
    "registry.example.com": { username: login.username, password: login.password },
    [host]: { username: login.username, password: "wrong" },
  });
  const secret = (name: string, type: string, key: string, value: string) => `
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: default}
type: ${type}
data: {${key}: ${b64(value)}}
`;
  // Always: a pod never runs on an image another pod's login pulled.
  const pod = (name: string, secrets: string[]) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: edge-1
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [${secrets.map((s) => `{name: ${s}}`).join(", ")}]
  containers:
  - {name: app, image: "${image}", imagePullPolicy: Always, command: ["sh", "-c", "exec sleep 3600"]}
`;
  await kubectl(
    ["apply", "-f", "-"],
    [
      secret("pull-good", "kubernetes.io/dockerconfigjson", ".dockerconfigjson", dockerConfigJson),
      secret("pull-wrong", "kubernetes.io/dockercfg", ".dockercfg", dockercfgWrong),
      pod("no-secret", []),
      pod("wrong-password", ["pull-wrong"]),
      pod("absent-secret", ["absent"]),
    ].join("---\n"),
  );
  const waitingOf = async (name: string) => {
    const status = JSON.parse(await kubectl(["get", "pod", name, "-o", "json"])).status;
    return status?.containerStatuses?.[0]?.state?.waiting as
      | { reason: string; message?: string }
      | undefined;
  };
  const events = async (name: string): Promise<EventJson[]> =>
    JSON.parse(
      await kubectl(["get", "events", "--field-selector", `involvedObject.name=${name}`, "-o", "json"]),
    ).items;
  const refused = async (name: string) => {
    const waiting = await waitFor(
      `${name}: the registry's 401 in the waiting message`,
      async () => {
        const w = await waitingOf(name);
        return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) &&
          /401 Unauthorized/.test(w.message ?? "") &&
          w;
      },
      60_000,
      300,
    );
    const failed = await waitFor(
      `${name}: a Failed event with the 401`,
      async () => {
        const e = (await events(name)).find((e) =>
          e.reason === "Failed" && e.message.startsWith(`Failed to pull image "${image}": `)
        );
        return e;
      },
      30_000,
      500,
    );
    assert.equal(failed.type, "Warning");
    assert.match(failed.message, /401 Unauthorized/);
    return waiting;
  };

  await t.step("without a secret: ErrImagePull with the registry's 401 and a Failed event", async () => {
    const waiting = await refused("no-secret");
    assert.match(waiting.message ?? "", new RegExp(`${host.replace(/\./g, "\\.")}.*401 Unauthorized`));
  });

  await t.step(
    "a dockercfg secret with a wrong password for this registry: refused with the 401",
    async () => {
      await refused("wrong-password");
      // The login reached the registry (no other pod has one yet): the registry says it checked it.
      const registryLog = await Deno.readTextFile(join(rt.run.path, "private-registry.log"));
      assert.match(
        registryLog,
        /error authenticating user \\"puller\\": authentication failure.*containerd/,
      );
    },
  );

  await t.step(
    "a secret that does not exist: FailedToRetrieveImagePullSecret, and the pull goes on",
    async () => {
      await refused("absent-secret");
      const list = await events("absent-secret");
      const e = list.find((e) => e.reason === "FailedToRetrieveImagePullSecret");
      assert.ok(e, list.map((e) => `${e.reason}: ${e.message}`).join("\n"));
      assert.equal(e.type, "Warning");
      assert.equal(
        e.message,
        "Unable to retrieve some image pull secrets (absent); attempting to pull the image may not succeed.",
      );
    },
  );

  await t.step("a dockerconfigjson secret with the login: pulled and running", async () => {
    await kubectl(["apply", "-f", "-"], pod("with-secret", ["absent", "pull-wrong", "pull-good"]));
    await waitFor(
      "with-secret running",
      async () => {
        const status = JSON.parse(await kubectl(["get", "pod", "with-secret", "-o", "json"])).status;
        return status?.phase === "Running" && status?.containerStatuses?.[0]?.ready === true;
      },
      60_000,
      300,
    );
    const pulled = (await events("with-secret")).find((e) => e.reason === "Pulled");
    assert.match(
      pulled?.message ?? "",
      new RegExp(`Successfully pulled image "${image.replace(/\./g, "\\.")}"`),
    );
  });

  await t.step("the password is in no log and no event", async () => {
    const all = JSON.parse(await kubectl(["get", "events", "-o", "json"])).items as EventJson[];
    assert.ok(all.length > 0);
    assert.ok(all.every((e) => !e.message.includes(login.password)));
    for (const dir of [run.path, rt.run.path]) {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile || !entry.name.endsWith(".log")) continue;
        const text = await Deno.readTextFile(join(dir, entry.name));
        assert.ok(!text.includes(login.password), `${entry.name} holds the password`);
      }
    }
  });
});
