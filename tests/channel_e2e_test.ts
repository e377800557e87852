// The cloud-edge channel end to end, as a user runs it: a real apiserver, cloudcore processes,
// `edgecore join` with a token from `cloudcore gettoken`, edgecore processes, curl on the HTTPS endpoints.
import assert from "node:assert/strict";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { createRunDir, startControlPlane } from "./cluster/mod.ts";
import { getToken, joinEdge, metric, startCloud, startEdge } from "./harness/kedge.ts";
import { toPem } from "../lib/pki/mod.ts";

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "-w", "\n%{http_code}", ...args],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const cut = text.lastIndexOf("\n");
  return { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) };
}

async function connectedCount(log: string): Promise<number> {
  const text = await Deno.readTextFile(log);
  return text.split("\n").filter((l) => l.includes('"connected to cloudcore"')).length;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

Deno.test("cloud-edge channel: join, connect, health and token endpoints, restart, a second replica", async (t) => {
  await using cp = await startControlPlane();
  const run = await createRunDir("channel");
  const stops: Array<() => Promise<void>> = [];
  try {
    let cloud = await startCloud(run, cp);
    stops.push(() => cloud.stop());
    const caPath = join(run.path, "kubeedge-ca.crt");
    // /ca.crt is fetched unverified by design (the token pins it); curl -k does the same, then we pin it.
    const fetched = await new Deno.Command("curl", {
      args: ["-sSk", `https://127.0.0.1:${cloud.ports.https}/ca.crt`, "-o", join(run.path, "ca.der")],
    }).output();
    assert.ok(fetched.success);
    const der = await Deno.readFile(join(run.path, "ca.der"));
    await Deno.writeTextFile(caPath, toPem("CERTIFICATE", der));

    const edgeA = await joinEdge(run, cloud, "edge-a");
    await t.step("join writes the key with mode 0600 and a config without the token", async () => {
      assert.equal((await Deno.stat(join(edgeA.certDir, "server.key"))).mode! & 0o777, 0o600);
      assert.doesNotMatch(await Deno.readTextFile(edgeA.configFile), /token: \S{20,}/);
    });

    const edge = await startEdge(run, edgeA);
    stops.push(() => edge.stop());
    await t.step("the joined edge connects over mTLS and cloudcore counts it", async () => {
      await edge.waitForLog("connected to cloudcore", 20_000);
      await waitFor(
        "connected_nodes 1",
        async () => (await metric(cloud.ports.metrics, "kedge_cloudhub_connected_nodes")) === 1,
        10_000,
      );
    });

    await t.step("curl /healthz and /readyz answer JSON with status ok", async () => {
      for (const path of ["/healthz", "/livez", "/readyz"]) {
        const { status, body } = await curl([
          "--cacert",
          caPath,
          `https://127.0.0.1:${cloud.ports.https}${path}`,
        ]);
        assert.equal(status, 200, `${path}: ${body}`);
        assert.equal(JSON.parse(body).status, "ok");
      }
    });

    await t.step(
      "POST /token gives a token to a ServiceAccount allowed to read tokensecret, 403 otherwise",
      async () => {
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(cp.kubeconfigPath);
        const core = kc.makeApiClient(k8s.CoreV1Api);
        const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
        for (const name of ["joiner", "nobody"]) {
          await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name } } });
        }
        await rbac.createNamespacedRole({
          namespace: "kubeedge",
          body: {
            metadata: { name: "read-tokensecret" },
            rules: [{
              apiGroups: [""],
              resources: ["secrets"],
              resourceNames: ["tokensecret"],
              verbs: ["get"],
            }],
          },
        });
        await rbac.createNamespacedRoleBinding({
          namespace: "kubeedge",
          body: {
            metadata: { name: "joiner-reads-tokensecret" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-tokensecret" },
            subjects: [{ kind: "ServiceAccount", name: "joiner", namespace: "default" }],
          },
        });
        const saToken = async (name: string) =>
          (await core.createNamespacedServiceAccountToken({ namespace: "default", name, body: { spec: {} } }))
            .status!.token;
        const url = `https://127.0.0.1:${cloud.ports.https}/token`;
        const allowed = await curl([
          "--cacert",
          caPath,
          "-X",
          "POST",
          "-H",
          `Authorization: Bearer ${await saToken("joiner")}`,
          url,
        ]);
        assert.equal(allowed.status, 200, allowed.body);
        const token: string = JSON.parse(allowed.body).token;
        assert.equal(token.split(".").length, 4);
        assert.equal(token, token.trim());
        const denied = await curl([
          "--cacert",
          caPath,
          "-X",
          "POST",
          "-H",
          `Authorization: Bearer ${await saToken("nobody")}`,
          url,
        ]);
        assert.equal(denied.status, 403, denied.body);
        const garbage = await curl([
          "--cacert",
          caPath,
          "-X",
          "POST",
          "-H",
          "Authorization: Bearer not-a-token",
          url,
        ]);
        assert.equal(garbage.status, 401, garbage.body);
      },
    );

    await t.step(
      "cloudcore restarted: the edge reconnects within 10 s without re-joining; CA and token survive",
      async () => {
        const tokenBefore = await getToken(cloud);
        await cloud.stop();
        const before = await connectedCount(edge.logFile);
        cloud = await startCloud(run, cp, { name: "cloudcore-restarted", ports: cloud.ports });
        const tookMs = await waitFor(
          "reconnect",
          async () => (await connectedCount(edge.logFile)) > before,
          10_000,
        );
        assert.ok(tookMs <= 10_000);
        const after = await new Deno.Command("curl", {
          args: ["-sSk", `https://127.0.0.1:${cloud.ports.https}/ca.crt`],
          stdout: "piped",
        }).output();
        assert.deepEqual(new Uint8Array(after.stdout), der, "the CA is read back from casecret");
        assert.equal(await getToken(cloud), tokenBefore, "the token is read back from tokensecret");
      },
    );

    await t.step(
      "a second cloudcore on the same apiserver shares CA and token: an edge joined through one connects to the other",
      async () => {
        const second = await startCloud(run, cp, { name: "cloudcore-b" });
        stops.push(() => second.stop());
        assert.equal(await getToken(second), await getToken(cloud));
        const edgeB = await joinEdge(run, cloud, "edge-b", (config) => {
          config.modules!.edgeHub!.websocket = { server: `127.0.0.1:${second.ports.websocket}` };
        });
        const b = await startEdge(run, edgeB);
        stops.push(() => b.stop());
        await b.waitForLog("connected to cloudcore", 20_000);
        await waitFor(
          "edge-b on the second replica",
          async () => (await metric(second.ports.metrics, "kedge_cloudhub_connected_nodes")) === 1,
          10_000,
        );
      },
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await run.remove();
  }
});
