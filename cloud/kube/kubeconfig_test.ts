import assert from "node:assert/strict";
import { join } from "node:path";
import { CoreV1Api, HttpMethod, type KubeConfig, RequestContext } from "@kubernetes/client-node";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../../lib/pki/mod.ts";
import { loadKubeConfig, shareDispatcher } from "./kubeconfig.ts";

const b64 = (text: string) => btoa(text);

/** An HTTPS "apiserver" on loopback that answers every request with a ConfigMap and counts connections. */
async function fakeApiserver() {
  const ca = await createCa({ commonName: "test-ca" });
  const issue = async (commonName: string, usage: "server" | "client") => {
    const leaf = await issueCertificate({
      ca,
      commonName,
      usages: [usage],
      ...(usage === "server" ? { ipAddresses: ["127.0.0.1"] } : {}),
    });
    return { certPem: certificateToPem(leaf.cert), keyPem: await privateKeyToPem(leaf.keys!.privateKey) };
  };
  const serverCert = await issue("apiserver", "server");
  const connections = new Set<string>();
  let requests = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: serverCert.certPem,
    key: serverCert.keyPem,
    onListen: () => {},
  }, (_req, info) => {
    requests++;
    connections.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
    return Response.json({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "default", resourceVersion: String(requests) },
    });
  });
  const dir = await Deno.makeTempDir({ prefix: "kedge-kubeconfig-" });
  const client = await issue("kedge-cloudcore", "client");
  const kubeconfigPath = join(dir, "kubeconfig");
  await Deno.writeTextFile(
    kubeconfigPath,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: test",
      "  cluster:",
      `    server: https://127.0.0.1:${server.addr.port}`,
      `    certificate-authority-data: ${b64(certificateToPem(ca.cert))}`,
      "users:",
      "- name: cloudcore",
      "  user:",
      `    client-certificate-data: ${b64(client.certPem)}`,
      `    client-key-data: ${b64(client.keyPem)}`,
      "contexts:",
      "- name: test",
      "  context: { cluster: test, user: cloudcore }",
      "current-context: test",
      "",
    ].join("\n"),
  );
  return {
    kubeconfigPath,
    connections,
    issueClient: () => issue("kedge-cloudcore", "client"),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function dispatcherOf(kc: KubeConfig): Promise<{ readonly closed: boolean }> {
  const context = new RequestContext("https://127.0.0.1/api", HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  const dispatcher = context.getDispatcher() as { readonly closed: boolean } | undefined;
  assert.ok(dispatcher, "a TLS kubeconfig has a dispatcher");
  return dispatcher;
}

Deno.test("requests through a loaded kubeconfig share one connection to the apiserver", async () => {
  await using api = await fakeApiserver();
  const { kubeConfig } = await loadKubeConfig(api.kubeconfigPath, "cloudcore.yaml");
  try {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 30; i++) {
      const cm = await core.readNamespacedConfigMap({ name: "c", namespace: "default" });
      assert.equal(cm.metadata?.name, "c");
    }
    // client-node 2.0.1 alone opens (and keeps) one connection, with its own undici Agent, per request.
    assert.equal(api.connections.size, 1);
    const first = await dispatcherOf(kubeConfig);
    for (let i = 0; i < 10; i++) assert.equal(await dispatcherOf(kubeConfig), first);
  } finally {
    await shareDispatcher(kubeConfig).close();
  }
});

Deno.test("a changed client certificate gets a new dispatcher and the old one is closed", async () => {
  await using api = await fakeApiserver();
  const { kubeConfig } = await loadKubeConfig(api.kubeconfigPath, "cloudcore.yaml");
  try {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await core.readNamespacedConfigMap({ name: "c", namespace: "default" });
    const before = await dispatcherOf(kubeConfig);
    const rotated = await api.issueClient();
    const user = kubeConfig.getCurrentUser() as { certData?: string; keyData?: string };
    user.certData = b64(rotated.certPem);
    user.keyData = b64(rotated.keyPem);
    await core.readNamespacedConfigMap({ name: "c", namespace: "default" });
    await core.readNamespacedConfigMap({ name: "c", namespace: "default" });
    const after = await dispatcherOf(kubeConfig);
    assert.notEqual(after, before);
    assert.equal(api.connections.size, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(before.closed, true);
    assert.equal(after.closed, false);
  } finally {
    await shareDispatcher(kubeConfig).close();
  }
});

Deno.test("shareDispatcher is idempotent", async () => {
  await using api = await fakeApiserver();
  const { kubeConfig } = await loadKubeConfig(api.kubeconfigPath, "cloudcore.yaml");
  assert.equal(shareDispatcher(kubeConfig), shareDispatcher(kubeConfig));
  await shareDispatcher(kubeConfig).close();
});
