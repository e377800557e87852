export {
  certificateValidity,
  type CredentialFiles,
  type Credentials,
  readCredentials,
  type RotationOptions,
  rotationTime,
  runCertificateRotation,
} from "./rotation.ts";
