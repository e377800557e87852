// cloudcore's HTTPS server on :10002: /ca.crt, /edge.crt, /node/{name}, /token, /healthz, /livez, /readyz.
export { startCertServer } from "./server.ts";
export type { CertServer, CertServerOptions } from "./server.ts";
export { DEFAULT_MAX_BODY_BYTES } from "./edge_cert.ts";
export type { Checks } from "./health.ts";
