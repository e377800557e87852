/** cloudcore's HTTPS server (:10002) on a free port without an apiserver: enough to serve /ca.crt. */
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import type { CloudPki } from "../../cloud/certs/mod.ts";
import { type CertServer, startCertServer } from "../../cloud/http/mod.ts";
import { testLogger, type TestPki } from "../../cloud/hub/test_util.ts";
import { Registry } from "../../lib/metrics.ts";
import { x509 } from "../../lib/pki/mod.ts";

export function startTestCertServer(pki: TestPki, handshakeTimeoutMs: number): Promise<CertServer> {
  // The CA key and join token are only used by /token and /edge.crt, which these tests do not call.
  const cloudPki: CloudPki = {
    ca: pki.ca,
    caCertDer: new Uint8Array(pki.ca.cert.rawData),
    caKeyDer: new Uint8Array(0),
    caPem: pki.caPem,
    serverCert: new x509.X509Certificate(pki.server.certPem),
    serverCertPem: pki.server.certPem,
    serverKeyPem: pki.server.keyPem,
    token: "",
  };
  return startCertServer({
    address: "127.0.0.1",
    port: 0,
    pki: cloudPki,
    kc: new KubeConfig(),
    log: testLogger(),
    registry: new Registry(),
    edgeCertValidityMs: 60_000,
    handshakeTimeoutMs,
  });
}

/** GET /ca.crt; rejects unless it answers 200. */
export function getCaCert(port: number, caPem: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/ca.crt", ca: caPem, agent: false }, (res) => {
      res.resume();
      res.on("end", () => res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)));
    });
    req.on("error", reject);
  });
}
