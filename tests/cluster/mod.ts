export { startControlPlane } from "./control_plane.ts";
export type { ControlPlane, ControlPlaneOptions } from "./control_plane.ts";
export { createRunDir, freePort, reapOrphans, spawnLogged } from "./processes.ts";
export type { RunDir, Spawned } from "./processes.ts";
export { controlPlaneBinaries } from "./binaries.ts";
