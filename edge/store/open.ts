// Opening the edge's SQLite file: WAL (readers never block the writer), synchronous FULL (an acked object
// survives power loss), a busy timeout (no "database is locked", KubeEdge #4481), and an integrity check.
// A corrupt file is moved aside and a fresh one made: the cloud sends everything again on the next
// resync, and running containers are never touched by this.
import { DatabaseSync } from "node:sqlite";
import type { Logger } from "../../lib/log.ts";
import { migrate, SchemaTooNewError } from "./schema.ts";

export const BUSY_TIMEOUT_MS = 5000;

export interface OpenResult {
  db: DatabaseSync;
  /** Where a corrupt file was moved, when one was. */
  quarantined?: string;
}

export function openDatabase(path: string, log: Logger, now: () => number = Date.now): OpenResult {
  try {
    return { db: openChecked(path) };
  } catch (error) {
    if (path === ":memory:" || error instanceof SchemaTooNewError) throw error;
    const quarantined = `${path}.corrupt-${now()}`;
    log.error("store corrupt, moving it aside", { path, quarantined, error });
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.renameSync(path + suffix, quarantined + suffix);
      } catch { /* that part did not exist */ }
    }
    return { db: openChecked(path), quarantined };
  }
}

function openChecked(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const check = db.prepare("PRAGMA quick_check").all() as Array<Record<string, unknown>>;
    const verdict = check.map((row) => Object.values(row)[0]).join("; ");
    if (verdict !== "ok") throw new Error(`Cannot open store ${path}: integrity check says ${verdict}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
