export { fromPem, pemToDer, toPem } from "./pem.ts";
export type { PemBlock } from "./pem.ts";
export {
  EC_P256,
  generateKeyPair,
  importPkcs8KeyPair,
  privateKeyToPem,
  privateKeyToPkcs8,
  publicKeyToPem,
  SIGNING,
} from "./keys.ts";
export { certificateToPem, createCa, issueCertificate } from "./certs.ts";
export type { CaOptions, Issued, IssuedLeaf, LeafOptions, Usage } from "./certs.ts";
export { x509 } from "./x509.ts";
export {
  caCertHash,
  createJoinToken,
  MAX_JOIN_TOKEN_BYTES,
  signJwt,
  splitJoinToken,
  verifyJoinJwt,
  verifyJoinToken,
} from "./token.ts";
export type {
  CreateJoinTokenOptions,
  JoinTokenCheck,
  JoinTokenKey,
  JoinTokenRejection,
  SplitJoinToken,
  VerifyOptions,
} from "./token.ts";
export { createCsr, MAX_CSR_BYTES, MIN_RSA_BITS, parseCsr } from "./csr.ts";
export type { CsrKeyType, CsrOptions, ParsedCsr } from "./csr.ts";
