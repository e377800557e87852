// A short-lived edge certificate is rotated before it expires, through the real join and renewal path
// (cert server on a real apiserver), and the edge reconnects with it while the cloud keeps sending:
// no message is lost.
import assert from "node:assert/strict";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { buildResource, newMessage } from "../lib/protocol/mod.ts";
import { ensureCloudPki, getToken } from "../cloud/certs/mod.ts";
import { startCertServer } from "../cloud/http/mod.ts";
import { startCloudHub } from "../cloud/hub/mod.ts";
import { certificateValidity, readCredentials, runCertificateRotation } from "../edge/certs/mod.ts";
import { startEdgeHub } from "../edge/hub/mod.ts";
import { joinCloud, renewCertificate } from "../edge/join/mod.ts";
import { startControlPlane } from "./cluster/mod.ts";

const log = createLogger({ level: "warn", component: "rotation-test" });
const VALIDITY_MS = 12_000;

Deno.test("a short-lived certificate is rotated before expiry and the edge reconnects with no lost message", async () => {
  await using cp = await startControlPlane();
  const dir = await Deno.makeTempDir({ prefix: "kedge-rotation-" });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const stop = new AbortController();
  const pki = await ensureCloudPki(kc, { advertiseAddresses: ["127.0.0.1"], dnsNames: [], log });
  const registry = new Registry();
  const certServer = await startCertServer({
    address: "127.0.0.1",
    port: 0,
    pki,
    kc,
    log,
    registry,
    edgeCertValidityMs: VALIDITY_MS,
  });
  const connects: string[] = [];
  const hub = await startCloudHub({
    address: "127.0.0.1",
    port: 0,
    tls: { caPem: pki.caPem, certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    log,
    registry,
    resendMs: 500,
    onMessage: () => Promise.resolve(undefined),
    onConnect: (node) => connects.push(node),
  });
  const received = new Set<string>();
  const files = {
    caFile: join(dir, "ca.crt"),
    certFile: join(dir, "server.crt"),
    keyFile: join(dir, "server.key"),
  };
  let edge: ReturnType<typeof startEdgeHub> | undefined;
  let rotation: Promise<void> | undefined;
  try {
    await joinCloud({
      cloudcoreIpPort: `127.0.0.1:${hub.port}`,
      certPort: certServer.port,
      token: await getToken(kc),
      nodeName: "edge-rot",
      paths: { config: join(dir, "edgecore.yaml"), ...files },
    });
    const first = await readCredentials(files);
    edge = startEdgeHub({
      server: `127.0.0.1:${hub.port}`,
      projectID: "e632aba927ea4ac2b575ec1603d56f10",
      nodeName: "edge-rot",
      credentials: () => readCredentials(files),
      log,
      backoff: { initialMs: 100, capMs: 500 },
      onMessage: (message) => {
        received.add((message.content as { metadata: { uid: string } }).metadata.uid);
        return Promise.resolve();
      },
    });
    const rotated = Promise.withResolvers<void>();
    const liveEdge = edge;
    rotation = runCertificateRotation({
      files,
      renew: (current) =>
        renewCertificate({
          httpServer: `https://127.0.0.1:${certServer.port}`,
          nodeName: "edge-rot",
          ...current,
        }),
      onRotated: () => {
        liveEdge.reconnect();
        rotated.resolve();
      },
      log,
      signal: stop.signal,
    });

    // The cloud sends an object every 50 ms from before the rotation until after the reconnect.
    const sent: string[] = [];
    let rotatedAt = 0;
    rotated.promise.then(() => rotatedAt = Date.now());
    const { notAfter } = certificateValidity(first.certPem);
    for (let i = 0; rotatedAt === 0 || Date.now() - rotatedAt < 2000; i++) {
      assert.ok(
        Date.now() < notAfter.getTime(),
        "rotation did not happen before the first certificate expired",
      );
      const uid = `uid-${i}`;
      const resource = buildResource({ namespace: "default", type: "configmap", name: `cm-${i}` });
      hub.send("edge-rot", {
        uid,
        message: newMessage({
          source: "edgecontroller",
          group: "resource",
          operation: "insert",
          resource,
          resourceVersion: String(i + 1),
          content: {
            metadata: { uid, name: `cm-${i}`, namespace: "default", resourceVersion: String(i + 1) },
          },
        }),
      });
      sent.push(uid);
      await new Promise((r) => setTimeout(r, 50));
    }
    const deadline = Date.now() + 10_000;
    while (received.size < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(sent.filter((uid) => !received.has(uid)), [], "every object sent reached the edge");

    const second = await readCredentials(files);
    assert.notEqual(second.certPem, first.certPem, "the certificate was replaced");
    assert.ok(certificateValidity(second.certPem).notAfter > notAfter);
    assert.ok(connects.length >= 2, "the edge reconnected with the new certificate");
    assert.equal((await Deno.stat(files.keyFile)).mode! & 0o777, 0o600);
  } finally {
    stop.abort();
    await rotation;
    await edge?.close();
    await hub.close();
    await certServer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
