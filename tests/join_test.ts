// The join/certificate half of the secure channel, end to end on loopback: cloud PKI in Secrets of a real
// apiserver, the HTTPS server on real TLS, and the edge's bootstrap and rotation against it.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { request } from "node:https";
import * as k8s from "@kubernetes/client-node";
import { ensureCloudPki, getToken, missingSans, sansOf, startTokenRefresher } from "../cloud/certs/mod.ts";
import { startCertServer } from "../cloud/http/mod.ts";
import { parseEdgeCoreConfig } from "../edge/config.ts";
import { joinCloud, type JoinPaths, renewCertificate } from "../edge/join/mod.ts";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import {
  caCertHash,
  createCsr,
  createJoinToken,
  generateKeyPair,
  signJwt,
  verifyJoinToken,
  x509,
} from "../lib/pki/mod.ts";
import { startControlPlane } from "./cluster/mod.ts";

const MINUTE = 60_000;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

interface RawAnswer {
  status: number;
  body: Uint8Array;
}

interface RawRequest {
  port: number;
  host?: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  caPem: string;
  cert?: string;
  key?: string;
}

/** One request through node:https, so a GET can carry a body and a client certificate can be shown. */
function raw(options: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: options.host ?? "127.0.0.1",
      port: options.port,
      method: options.method ?? "GET",
      path: options.path,
      headers: { ...options.headers, "content-length": String(options.body?.byteLength ?? 0) },
      ca: options.caPem,
      cert: options.cert,
      key: options.key,
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on(
        "end",
        () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }),
      );
    });
    req.on("error", reject);
    req.end(options.body ?? new Uint8Array());
  });
}

/**
 * Streams `total` bytes of body (chunked) to /edge.crt from a child process, so the bytes it makes and sends
 * do not count in this process's RSS; resolves with the HTTP status, or 0 when the connection broke.
 */
async function streamBody(
  port: number,
  caPem: string,
  headers: Record<string, string>,
  total: number,
): Promise<number> {
  const sender = `
    import { request } from "node:https";
    const { port, caPem, headers, total } = JSON.parse(Deno.env.get("SEND") ?? "{}");
    let answered = false;
    const req = request({
      host: "127.0.0.1", port, method: "GET", path: "/edge.crt", ca: caPem, agent: false,
      // Node sends a GET body unframed unless told to chunk it.
      headers: { ...headers, "transfer-encoding": "chunked" },
    }, (res) => {
      answered = true;
      res.resume();
      res.on("end", () => { console.log(res.statusCode); Deno.exit(0); });
    });
    req.on("error", () => { if (!answered) { console.log(0); Deno.exit(0); } });
    // At most ~64 MB/s: a server that reads it all still gets all of it, but one that answers early is not
    // flooded by what a loopback client pushes before it notices the answer.
    const chunk = new Uint8Array(64 * 1024).fill(0x30);
    for (let sent = 0; !answered && sent < total; sent += chunk.byteLength) {
      await new Promise((flushed) => req.write(chunk, flushed));
      await new Promise((tick) => setTimeout(tick, 1));
    }
    if (!answered) req.end();
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", sender],
    env: { SEND: JSON.stringify({ port, caPem, headers, total }) },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

Deno.test("join and certificate server against a real apiserver", async (t) => {
  const cp = await startControlPlane();
  const dir = await Deno.makeTempDir({ prefix: "kedge-join-" });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", component: "test", write: (l) => logs.push(JSON.parse(l)) });
  const closers: (() => Promise<void>)[] = [];
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const pkiOptions = { advertiseAddresses: ["127.0.0.1"], dnsNames: ["localhost"], log };
    // Two "replicas" starting at once against one apiserver.
    const [pki, twin] = await Promise.all([ensureCloudPki(kc, pkiOptions), ensureCloudPki(kc, pkiOptions)]);
    const registry = new Registry();
    let hubReady = true;
    const server = await startCertServer({
      address: "127.0.0.1",
      port: 0,
      pki,
      kc,
      log,
      registry,
      edgeCertValidityMs: 10 * MINUTE,
      readiness: () => Promise.resolve({ hub: hubReady }),
    });
    closers.push(server.close);
    const port = server.port;
    const caPem = pki.caPem;
    const issued = () =>
      registry.render().match(/cloudcore_edge_certificates_issued_total\{[^}]*\} (\d+)/g) ?? [];
    const paths = (node: string): JoinPaths => ({
      config: `${dir}/${node}/config/edgecore.yaml`,
      caFile: `${dir}/${node}/ca/rootCA.crt`,
      certFile: `${dir}/${node}/certs/server.crt`,
      keyFile: `${dir}/${node}/certs/server.key`,
    });
    const jwt = pki.token.slice(pki.token.indexOf(".") + 1);

    await t.step(
      "two replicas on one apiserver end with the same CA and token in KubeEdge's Secrets",
      async () => {
        assert.deepEqual(twin.caCertDer, pki.caCertDer);
        assert.equal(twin.token, pki.token);
        const read = (name: string) => core.readNamespacedSecret({ name, namespace: "kubeedge" });
        const ca = await read("casecret");
        assert.deepEqual(Object.keys(ca.data ?? {}).sort(), ["cadata", "cakeydata"]);
        const caCert = new X509Certificate(Buffer.from(ca.data!.cadata!, "base64"));
        assert.equal(caCert.subject, "CN=KubeEdge");
        assert.ok(caCert.ca);
        const caKey = createPrivateKey({
          key: Buffer.from(ca.data!.cakeydata!, "base64"),
          format: "der",
          type: "sec1",
        });
        assert.equal(caKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
        assert.ok(caCert.checkPrivateKey(caKey));
        const server = await read("cloudcoresecret");
        assert.deepEqual(Object.keys(server.data ?? {}).sort(), ["cloudcoredata", "cloudcorekeydata"]);
        const serverCert = new X509Certificate(Buffer.from(server.data!.cloudcoredata!, "base64"));
        assert.ok(serverCert.checkIssued(caCert));
        assert.match(serverCert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
        assert.match(serverCert.subjectAltName ?? "", /DNS:localhost/);
        const token = await read("tokensecret");
        const stored = Buffer.from(token.data!.tokendata!, "base64").toString();
        assert.equal(stored, pki.token);
        assert.equal(verifyJoinToken(stored, pki).ok, true);
        // A restart reuses everything.
        const restarted = await ensureCloudPki(kc, pkiOptions);
        assert.deepEqual(restarted.caCertDer, pki.caCertDer);
        assert.equal(restarted.serverCertPem, pki.serverCertPem);
        assert.equal(restarted.token, pki.token);
      },
    );

    let nodeA: { certPem: string; keyPem: string } | undefined;
    await t.step(
      "join with a valid token writes a system:node certificate, key 0600 and a config",
      async () => {
        const lines: string[] = [];
        const result = await joinCloud({
          cloudcoreIpPort: "127.0.0.1:10000",
          certPort: port,
          token: pki.token,
          nodeName: "edge-a",
          paths: paths("edge-a"),
          dataSource: `${dir}/edge-a/edgecore.db`,
          print: (l) => lines.push(l),
        });
        assert.equal(lines.length, 5);
        const p = paths("edge-a");
        const certPem = await Deno.readTextFile(p.certFile);
        const cert = new X509Certificate(certPem);
        assert.equal(cert.subject, "O=system:nodes\nCN=system:node:edge-a");
        assert.ok(cert.verify(new X509Certificate(caPem).publicKey));
        assert.equal(await Deno.readTextFile(p.caFile), caPem);
        assert.equal((await Deno.stat(p.keyFile)).mode! & 0o777, 0o600);
        const config = parseEdgeCoreConfig(await Deno.readTextFile(p.config), p.config);
        assert.equal(config.modules.edgeHub.websocket.server, "127.0.0.1:10000");
        assert.equal(config.modules.edgeHub.httpServer, `https://127.0.0.1:${port}`);
        assert.equal(config.modules.edgeHub.tlsCertFile, p.certFile);
        assert.equal(config.modules.edgeHub.token, "");
        assert.equal(config.modules.edged.hostnameOverride, "edge-a");
        assert.equal(config.database.dataSource, `${dir}/edge-a/edgecore.db`);
        assert.ok(result.notAfter.getTime() <= Date.now() + 10 * MINUTE);
        nodeA = { certPem, keyPem: await Deno.readTextFile(p.keyFile) };
      },
    );

    await t.step(
      "a CSR asking for CN=admin,O=system:masters is refused; asking for more usages still gets clientAuth only",
      async () => {
        for (
          const subject of [
            { commonName: "admin", organizations: ["system:masters"] },
            { commonName: "system:node:edge-x", organizations: ["system:nodes", "system:masters"] },
            { commonName: "system:node:edge-y", organizations: ["system:nodes"] },
          ]
        ) {
          const answer = await raw({
            port,
            path: "/edge.crt",
            caPem,
            body: await createCsr({ keys: await generateKeyPair(), subject }),
            headers: { authorization: `Bearer ${jwt}`, nodename: "edge-x" },
          });
          assert.equal(answer.status, 400, text(answer.body));
          assert.match(
            text(answer.body),
            /Cannot accept CSR: its subject must be O=system:nodes, CN=system:node:edge-x/,
          );
        }
        const answer = await raw({
          port,
          path: "/edge.crt",
          caPem,
          body: await createCsr({ keys: await generateKeyPair(), nodeName: "edge-x" }),
          headers: { authorization: `Bearer ${jwt}`, nodename: "edge-x", extkeyusages: "[1,2]" },
        });
        assert.equal(answer.status, 200, text(answer.body));
        const cert = new x509.X509Certificate(new Uint8Array(answer.body));
        assert.equal(cert.subject, "O=system:nodes, CN=system:node:edge-x");
        assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [
          CLIENT_AUTH,
        ]);
      },
    );

    await t.step(
      "the edge refuses a CA whose hash differs from the token before sending any CSR",
      async () => {
        const before = issued().join();
        const edgeCertLogs = () => logs.filter((r) => String(r.msg).startsWith("edge certificate")).length;
        const logsBefore = edgeCertLogs();
        const wrong = `${"ab".repeat(32)}.${jwt}`;
        await assert.rejects(
          joinCloud({
            cloudcoreIpPort: "127.0.0.1:10000",
            certPort: port,
            token: wrong,
            nodeName: "edge-h",
            paths: paths("edge-h"),
          }),
          /Cannot join: CA hash mismatch/,
        );
        assert.equal(edgeCertLogs(), logsBefore);
        assert.equal(issued().join(), before);
        await assert.rejects(Deno.stat(`${dir}/edge-h`), Deno.errors.NotFound);
      },
    );

    await t.step(
      "expired, alg none, tampered and foreign-key tokens get 401 and no certificate",
      async () => {
        const csr = await createCsr({ keys: await generateKeyPair(), nodeName: "edge-b" });
        const key = { caCertDer: pki.caCertDer, caKeyDer: pki.caKeyDer };
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const [, header, , signature] = pki.token.split(".");
        const later = Buffer.from(JSON.stringify({ exp: exp + 1e6 })).toString("base64url");
        const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${
          Buffer.from(JSON.stringify({ exp })).toString("base64url")
        }.`;
        const bad: Record<string, string> = {
          expired: createJoinToken({ ...key, ttlMs: -MINUTE }),
          "alg none": `${caCertHash(pki.caCertDer)}.${none}`,
          tampered: `${caCertHash(pki.caCertDer)}.${header}.${later}.${signature}`,
          "other key": createJoinToken({
            ...key,
            caKeyDer: crypto.getRandomValues(new Uint8Array(121)),
            ttlMs: MINUTE,
          }),
          "hs256 with no exp": `${caCertHash(pki.caCertDer)}.${signJwt({}, pki.caKeyDer)}`,
        };
        const before = issued().join();
        for (const [name, token] of Object.entries(bad)) {
          for (const sent of [token, token.slice(token.indexOf(".") + 1)]) {
            const answer = await raw({
              port,
              path: "/edge.crt",
              caPem,
              body: csr,
              headers: { authorization: `Bearer ${sent}`, nodename: "edge-b" },
            });
            assert.equal(answer.status, 401, `${name}: ${text(answer.body)}`);
            assert.match(text(answer.body), /^Unauthorized/);
          }
        }
        const none401 = await raw({
          port,
          path: "/edge.crt",
          caPem,
          body: csr,
          headers: { nodename: "edge-b" },
        });
        assert.equal(none401.status, 401);
        assert.equal(issued().join(), before);
        await assert.rejects(
          joinCloud({
            cloudcoreIpPort: "127.0.0.1:10000",
            certPort: port,
            token: bad.expired!,
            nodeName: "edge-b",
            paths: paths("edge-b"),
          }),
          /Cannot join: the cloud refused the token \(expired or invalid/,
        );
        assert.match(registry.render(), /cloudcore_join_failures_total\{reason="token-expired"\} [1-9]/);
      },
    );

    await t.step("a 10 MB CSR body gets 413 without growing server memory by 20 MB", async () => {
      const headers = { authorization: `Bearer ${jwt}`, nodename: "edge-big" };
      // Warm up the TLS and request paths so their one-time allocations are not counted.
      assert.equal(await streamBody(port, caPem, headers, 256 * 1024), 413);
      assert.equal(await streamBody(port, caPem, headers, 1024 * 1024), 413);
      const before = Deno.memoryUsage().rss;
      assert.equal(await streamBody(port, caPem, headers, 10 * 1024 * 1024), 413);
      const grown = Deno.memoryUsage().rss - before;
      assert.ok(grown < 20 * 1024 * 1024, `rss grew by ${grown} bytes`);
      const declared = await raw({
        port,
        path: "/edge.crt",
        caPem,
        headers,
        body: new Uint8Array(65 * 1024),
      });
      assert.equal(declared.status, 413);
      assert.match(text(declared.body), /Payload Too Large/);
    });

    await t.step(
      "rotation with node A's client certificate renews A and is refused (403) for B",
      async () => {
        assert.ok(nodeA);
        const renewed = await renewCertificate({
          httpServer: `https://127.0.0.1:${port}`,
          nodeName: "edge-a",
          caPem,
          ...nodeA,
        });
        assert.equal(new X509Certificate(renewed.certPem).subject, "O=system:nodes\nCN=system:node:edge-a");
        assert.notEqual(renewed.keyPem, nodeA.keyPem);
        assert.match(registry.render(), /cloudcore_edge_certificates_issued_total\{auth="certificate"\} 1/);
        const csr = await createCsr({ keys: await generateKeyPair(), nodeName: "edge-b" });
        const claimB = await raw({
          port,
          path: "/edge.crt",
          caPem,
          body: csr,
          cert: nodeA.certPem,
          key: nodeA.keyPem,
          headers: { nodename: "edge-b" },
        });
        assert.equal(claimB.status, 403, text(claimB.body));
        await assert.rejects(
          renewCertificate({ httpServer: `https://127.0.0.1:${port}`, nodeName: "edge-b", caPem, ...nodeA }),
          /Cannot renew certificate: .* answered 403/,
        );
        // A certificate from another CA is no identity at all.
        const stranger = await ensureForeignCert();
        const foreign = await raw({
          port,
          path: "/edge.crt",
          caPem,
          body: csr,
          ...stranger,
          headers: { nodename: "edge-a" },
        });
        assert.equal(foreign.status, 401);
      },
    );

    await t.step("joining a name that already exists as a Node is refused unless forced", async () => {
      await core.createNode({ body: { metadata: { name: "edge-taken" } } });
      const options = {
        cloudcoreIpPort: "127.0.0.1:10000",
        certPort: port,
        token: pki.token,
        nodeName: "edge-taken",
        paths: paths("edge-taken"),
      };
      await assert.rejects(joinCloud(options), /Cannot join: a node named edge-taken already exists/);
      await assert.rejects(Deno.stat(paths("edge-taken").certFile), Deno.errors.NotFound);
      await joinCloud({ ...options, force: true });
      assert.match(await Deno.readTextFile(paths("edge-taken").certFile), /BEGIN CERTIFICATE/);
    });

    await t.step("GET /node/{name} needs a credential and answers exists from the apiserver", async () => {
      const noAuth = await raw({ port, path: "/node/edge-taken", caPem });
      assert.equal(noAuth.status, 401);
      const taken = await raw({
        port,
        path: "/node/edge-taken",
        caPem,
        headers: { authorization: `Bearer ${jwt}` },
      });
      assert.equal(taken.status, 200);
      assert.deepEqual(JSON.parse(text(taken.body)), { exists: true, ready: false });
      const free = await raw({
        port,
        path: "/node/edge-free",
        caPem,
        cert: nodeA!.certPem,
        key: nodeA!.keyPem,
      });
      assert.equal(free.status, 404);
      assert.deepEqual(JSON.parse(text(free.body)), { exists: false });
    });

    await t.step(
      "/readyz reports each check as JSON and turns 503 when one fails; /ca.crt is the CA DER",
      async () => {
        const ready = await raw({ port, path: "/readyz", caPem });
        assert.equal(ready.status, 200);
        assert.deepEqual(JSON.parse(text(ready.body)), {
          status: "ok",
          checks: { apiserver: true, certificates: true, listener: true, hub: true },
        });
        hubReady = false;
        const failing = await raw({ port, path: "/readyz", caPem });
        assert.equal(failing.status, 503);
        assert.equal(JSON.parse(text(failing.body)).status, "failed");
        hubReady = true;
        for (const path of ["/healthz", "/livez"]) {
          const live = await raw({ port, path, caPem });
          assert.deepEqual(JSON.parse(text(live.body)), { status: "ok", checks: { process: true } });
        }
        const ca = await raw({ port, path: "/ca.crt", caPem });
        assert.deepEqual(ca.body, pki.caCertDer);
        assert.match(registry.render(), /cloudcore_certificate_days_left\{certificate="ca"\} \d+/);
      },
    );

    await t.step(
      "POST /token: 200 for a ServiceAccount allowed to get tokensecret, 403 without, 401 for garbage",
      async () => {
        for (const name of ["joiner", "nobody"]) {
          await core.createNamespacedServiceAccount({ namespace: "kubeedge", body: { metadata: { name } } });
        }
        const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
        await rbac.createNamespacedRole({
          namespace: "kubeedge",
          body: {
            metadata: { name: "tokensecret-reader" },
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
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "tokensecret-reader" },
            subjects: [{ kind: "ServiceAccount", name: "joiner", namespace: "kubeedge" }],
          },
        });
        const saToken = async (name: string) =>
          (await core.createNamespacedServiceAccountToken({
            name,
            namespace: "kubeedge",
            body: { spec: { audiences: [], expirationSeconds: 600 } },
          })).status!.token;
        const post = (bearer?: string) =>
          raw({
            port,
            method: "POST",
            path: "/token",
            caPem,
            headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
          });
        const joiner = await saToken("joiner");
        let allowed = await post(joiner);
        for (let i = 0; i < 20 && allowed.status === 403; i++) {
          await new Promise((r) => setTimeout(r, 250)); // the RoleBinding reaches the authorizer's cache
          allowed = await post(joiner);
        }
        assert.equal(allowed.status, 200, text(allowed.body));
        const { token } = JSON.parse(text(allowed.body));
        assert.equal(verifyJoinToken(token, pki).ok, true);
        const denied = await post(await saToken("nobody"));
        assert.equal(denied.status, 403);
        assert.match(JSON.parse(text(denied.body)).error, /Forbidden/);
        assert.equal((await post("garbage")).status, 401);
        assert.equal((await post()).status, 401);
      },
    );

    await t.step(
      "getToken replaces a stored token expiring within an hour; the refresher rewrites it",
      async () => {
        const readStored = async () => {
          const secret = await core.readNamespacedSecret({ name: "tokensecret", namespace: "kubeedge" });
          return Buffer.from(secret.data!.tokendata!, "base64").toString();
        };
        assert.equal(await getToken(kc), await readStored());
        const key = { caCertDer: pki.caCertDer, caKeyDer: pki.caKeyDer };
        const soon = createJoinToken({ ...key, ttlMs: 30 * MINUTE });
        await core.patchNamespacedSecret({
          name: "tokensecret",
          namespace: "kubeedge",
          body: { data: { tokendata: Buffer.from(soon).toString("base64") } },
        }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
        const fresh = await getToken(kc);
        assert.notEqual(fresh, soon);
        assert.equal(await readStored(), fresh);
        const check = verifyJoinToken(fresh, key);
        assert.ok(check.ok && check.expiresAt.getTime() > Date.now() + 23 * 60 * MINUTE);
        const stop = new AbortController();
        try {
          const refresher = startTokenRefresher({
            kc,
            key,
            refreshMs: 100,
            validityMs: 60 * MINUTE,
            log,
            signal: stop.signal,
          });
          for (let i = 0; i < 50 && refresher.refreshes() === 0; i++) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.ok(refresher.refreshes() > 0);
        } finally {
          stop.abort();
        }
        assert.notEqual(await readStored(), fresh);
        assert.equal(verifyJoinToken(await readStored(), key).ok, true);
      },
    );

    await t.step(
      "a stored server certificate missing a new advertise address is re-issued in its Secret",
      async () => {
        const before = pki.serverCert;
        assert.deepEqual(missingSans(before, { ipAddresses: ["127.0.0.2"], dnsNames: [] }), ["127.0.0.2"]);
        const moved = await ensureCloudPki(kc, {
          ...pkiOptions,
          advertiseAddresses: ["127.0.0.1", "127.0.0.2"],
        });
        assert.deepEqual(moved.caCertDer, pki.caCertDer);
        assert.notEqual(moved.serverCertPem, pki.serverCertPem);
        assert.deepEqual([...sansOf(moved.serverCert).ipAddresses].sort(), ["127.0.0.1", "127.0.0.2"]);
        const stored = await core.readNamespacedSecret({ name: "cloudcoresecret", namespace: "kubeedge" });
        assert.deepEqual(
          new Uint8Array(Buffer.from(stored.data!.cloudcoredata!, "base64")),
          new Uint8Array(moved.serverCert.rawData),
        );
        assert.ok(logs.some((r) => r.msg === "server certificate reissued"));
        // An edge dialing the new address now passes hostname verification.
        const second = await startCertServer({
          address: "127.0.0.2",
          port: 0,
          pki: moved,
          kc,
          log,
          registry: new Registry(),
          edgeCertValidityMs: MINUTE,
        });
        closers.push(second.close);
        const ca = await raw({ host: "127.0.0.2", port: second.port, path: "/ca.crt", caPem });
        assert.equal(ca.status, 200);
      },
    );
  } finally {
    for (const close of closers.reverse()) await close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await cp.stop();
  }
});

/** A client certificate and key from a CA that is not ours. */
async function ensureForeignCert(): Promise<{ cert: string; key: string }> {
  const { createCa, issueCertificate, certificateToPem, privateKeyToPem } = await import("../lib/pki/mod.ts");
  const ca = await createCa({ commonName: "KubeEdge" });
  const leaf = await issueCertificate({ ca, commonName: "system:node:edge-a", usages: ["client"] });
  return { cert: certificateToPem(leaf.cert), key: await privateKeyToPem(leaf.keys!.privateKey) };
}
