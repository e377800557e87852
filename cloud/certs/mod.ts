// cloudcore's PKI: the CA, the serving certificate and the join token in Kubernetes Secrets (KubeEdge's
// names), and the signing of edge CSRs.
export { ensureCloudPki, readServerCertificate } from "./cloud_pki.ts";
export type { CloudPki, EnsureCloudPkiOptions } from "./cloud_pki.ts";
export { getToken, refreshTokenSecret, startTokenRefresher } from "./join_token.ts";
export type { GetTokenOptions, TokenRefresher, TokenRefresherOptions } from "./join_token.ts";
export { signEdgeCsr } from "./signer.ts";
export type { SignEdgeCsrOptions } from "./signer.ts";
export { interfaceAddresses, resolveAdvertiseAddresses } from "./advertise.ts";
export type { InterfaceLister } from "./advertise.ts";
export { missingSans, sansOf } from "./server_cert.ts";
export type { ServerSans } from "./server_cert.ts";
export { keyPairFromSec1, privateKeyToSec1 } from "./key_der.ts";
export * from "./names.ts";
