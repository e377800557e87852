// Opening the edge's SQLite file: WAL (readers never block the writer), synchronous FULL (an acked object
// survives power loss), a busy timeout (no "database is locked", KubeEdge #4481), and an integrity check.
// A file that is not a whole store (garbage, truncated, another program's tables) is moved aside, never
// deleted, and a fresh one made: the cloud sends everything again on the next resync, and running
// containers are never touched by this. Any other failure (a full disk, a lock, rights) leaves the file
// where it is and is thrown: moving a good store aside for it would lose what the cloud cannot resend.
import { DatabaseSync } from "node:sqlite";
import type { Logger } from "../../lib/log.ts";
import { CorruptStoreError, isCorruption } from "./errors.ts";
import { checkStore, migrate } from "./schema.ts";

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
    if (path === ":memory:" || !isCorruption(error)) throw named(path, error);
    const quarantined = `${path}.corrupt-${now()}`;
    log.warn("store corrupt, moving it aside and starting empty", { path, quarantined, error });
    Deno.renameSync(path, quarantined);
    for (const suffix of ["-wal", "-shm"]) {
      try {
        Deno.renameSync(path + suffix, quarantined + suffix);
      } catch { /* that part did not exist */ }
    }
    try {
      return { db: openChecked(path), quarantined };
    } catch (again) {
      throw named(path, again);
    }
  }
}

function openChecked(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const check = db.prepare("PRAGMA quick_check").all() as Array<Record<string, unknown>>;
    const verdict = check.map((row) => Object.values(row)[0]).join("; ");
    if (verdict !== "ok") throw new CorruptStoreError(`Cannot open store: integrity check says ${verdict}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db);
    checkStore(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The error with the file's path in its message, for the log line that reports it. */
function named(path: string, error: unknown): unknown {
  if (!(error instanceof Error) || error.message.includes(path)) return error;
  error.message = error.message.replace(/^Cannot open store/, `Cannot open store ${path}`);
  if (!error.message.includes(path)) error.message = `Cannot open store ${path}: ${error.message}`;
  return error;
}
