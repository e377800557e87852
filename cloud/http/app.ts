// The Hono routes of the certificate server (everything but /edge.crt, which needs GET bodies).
import type { HttpBindings } from "@hono/node-server";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { Hono } from "hono";
import { DNS_SUBDOMAIN } from "../../lib/config/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { createJoinToken } from "../../lib/pki/mod.ts";
import type { CloudPki } from "../certs/mod.ts";
import { checkApiserver, isNotFound } from "../kube/mod.ts";
import { checkJoinBearer, peerCertificateDer, verifyClientCertificate } from "./client_identity.ts";
import { type Checks, healthResponse } from "./health.ts";
import type { CertServerMetrics } from "./metrics.ts";
import { reviewBearer } from "./token_review.ts";

/** How long /readyz waits for the apiserver. */
export const READYZ_APISERVER_TIMEOUT_MS = 3000;

export interface AppDeps {
  readonly pki: CloudPki;
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly metrics: CertServerMetrics;
  readonly joinTokenValidityMs: number;
  readonly listening: () => boolean;
  readonly readiness?: () => Promise<Checks>;
}

type Env = { Bindings: HttpBindings };

export function createCertApp(deps: AppDeps): Hono<Env> {
  const { pki, kc, log } = deps;
  const app = new Hono<Env>();
  const caDer = new Uint8Array(pki.caCertDer);

  app.get("/ca.crt", () =>
    new Response(caDer, {
      headers: { "content-type": "application/octet-stream", "content-length": String(caDer.byteLength) },
    }));

  const alive = (c: Parameters<typeof healthResponse>[0]) => healthResponse(c, { process: true });
  app.get("/healthz", alive);
  app.get("/livez", alive);
  app.get("/readyz", async (c) => {
    const server = kc.getCurrentCluster()?.server ?? "";
    const [apiserver, extra] = await Promise.all([
      checkApiserver({ kubeConfig: kc, server }, c.req.raw.signal, READYZ_APISERVER_TIMEOUT_MS),
      deps.readiness ? deps.readiness().catch(() => ({ readiness: false })) : Promise.resolve({}),
    ]);
    const now = Date.now();
    return healthResponse(c, {
      apiserver: apiserver.ok,
      certificates: pki.serverCert.notAfter.getTime() > now && pki.ca.cert.notAfter.getTime() > now,
      listener: deps.listening(),
      ...extra,
    });
  });

  app.get("/node/:name", async (c) => {
    const name = c.req.param("name");
    if (!DNS_SUBDOMAIN.test(name)) return c.json({ error: "the node name must be a DNS subdomain" }, 400);
    const bearer = checkJoinBearer(c.req.header("authorization"), pki);
    if (bearer && !bearer.ok) return c.json({ error: `Unauthorized: ${bearer.message}` }, 401);
    if (!bearer) {
      const der = peerCertificateDer(c.env.incoming);
      const check = der ? await verifyClientCertificate(der, pki) : undefined;
      if (!check?.ok) {
        return c.json({ error: "Unauthorized: send a join token or a client certificate" }, 401);
      }
    }
    try {
      const node = await kc.makeApiClient(CoreV1Api).readNode({ name });
      const ready = node.status?.conditions?.find((cond) => cond.type === "Ready")?.status === "True";
      return c.json({ exists: true, ready });
    } catch (err) {
      if (isNotFound(err)) return c.json({ exists: false }, 404);
      log.warn("node lookup failed", { node: name, error: err });
      return c.json({ error: "Cannot look up the node: the apiserver did not answer" }, 503);
    }
  });

  app.post("/token", async (c) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    if (!match) return c.json({ error: "Unauthorized: send a Kubernetes bearer token" }, 401);
    let review;
    try {
      review = await reviewBearer(kc, match[1] ?? "");
    } catch (err) {
      log.warn("token review failed", { error: err });
      return c.json({ error: "Cannot review the token: the apiserver did not answer" }, 503);
    }
    switch (review.verdict) {
      case "unauthenticated":
        log.warn("token request refused", { verdict: review.verdict, reason: review.reason });
        return c.json({ error: "Unauthorized: the bearer token is not valid" }, 401);
      case "forbidden":
        log.warn("token request refused", { verdict: review.verdict, user: review.username });
        return c.json({ error: `Forbidden: ${review.username} may not get the join token` }, 403);
      case "allowed": {
        const token = createJoinToken({
          caCertDer: pki.caCertDer,
          caKeyDer: pki.caKeyDer,
          ttlMs: deps.joinTokenValidityMs,
        });
        log.info("join token issued", { user: review.username });
        return c.json({ token });
      }
    }
  });

  app.notFound((c) => c.json({ error: "Not Found" }, 404));
  app.onError((err, c) => {
    log.error("cert server request failed", { path: c.req.path, error: err });
    return c.json({ error: "Internal Server Error" }, 500);
  });
  return app;
}
