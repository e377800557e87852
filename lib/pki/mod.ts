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
