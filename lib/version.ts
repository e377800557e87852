/** The kedge release, printed by `cloudcore --version` and `edgecore --version`. */
export const VERSION = "0.1.0";
