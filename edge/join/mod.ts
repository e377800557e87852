// Joining a cloud (`edgecore join`) and rotating the node certificate: KubeEdge's bootstrap protocol.
export { DEFAULT_CERT_PORT, joinCloud, JoinError, MAX_CERT_BYTES } from "./join.ts";
export type { JoinOptions, JoinPaths, JoinResult } from "./join.ts";
export { renewCertificate } from "./renew.ts";
export type { Renewed, RenewOptions } from "./renew.ts";
export { runJoinCommand } from "./command.ts";
export type { JoinFlags } from "./command.ts";
export { joinedConfig } from "./write_files.ts";
