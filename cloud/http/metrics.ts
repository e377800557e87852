// What the certificate server reports on /metrics.
import type { Counter, Registry } from "../../lib/metrics.ts";
import type { CloudPki } from "../certs/mod.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertServerMetrics {
  /** Labels: auth = "token" (join) | "certificate" (rotation). */
  readonly issued: Counter;
  /** Labels: reason. */
  readonly joinFailures: Counter;
}

export function registerCertServerMetrics(registry: Registry, pki: CloudPki): CertServerMetrics {
  const issued = registry.counter("cloudcore_edge_certificates_issued_total", "Edge certificates signed.");
  const joinFailures = registry.counter(
    "cloudcore_join_failures_total",
    "Certificate requests refused, by reason.",
  );
  const daysLeft = registry.gauge("cloudcore_certificate_days_left", "Days until a certificate expires.");
  registry.onCollect(() => {
    const now = Date.now();
    daysLeft.set((pki.serverCert.notAfter.getTime() - now) / DAY_MS, { certificate: "server" });
    daysLeft.set((pki.ca.cert.notAfter.getTime() - now) / DAY_MS, { certificate: "ca" });
  });
  return { issued, joinFailures };
}
