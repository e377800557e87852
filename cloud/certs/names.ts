// Where KubeEdge keeps its certificate material: one namespace, three Secrets, fixed data keys. Kept
// identical so a cluster moved between KubeEdge's cloudcore and ours keeps its CA and its joined nodes.

export const KUBEEDGE_NAMESPACE = "kubeedge";

/** The CA: `cadata` certificate DER, `cakeydata` private key DER (SEC1, Go's x509.MarshalECPrivateKey). */
export const CA_SECRET = "casecret";
export const CA_CERT_KEY = "cadata";
export const CA_KEY_KEY = "cakeydata";

/** cloudcore's serving certificate for :10000 and :10002, same encodings as the CA. */
export const SERVER_SECRET = "cloudcoresecret";
export const SERVER_CERT_KEY = "cloudcoredata";
export const SERVER_KEY_KEY = "cloudcorekeydata";

/** The current join token, what `cloudcore gettoken` prints. */
export const TOKEN_SECRET = "tokensecret";
export const TOKEN_KEY = "tokendata";

export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;
/** Upstream: a token lives twice the refresh interval (12 h), so 24 h. */
export const DEFAULT_TOKEN_REFRESH_MS = 12 * HOUR_MS;
export const DEFAULT_TOKEN_VALIDITY_MS = 2 * DEFAULT_TOKEN_REFRESH_MS;
