// Why a store could not be used, as errors that name the file: the hub logs them when it withholds an ack,
// and an operator reading "database or disk is full" alone would not know which disk.

/** A file that is not a whole edgecore store (garbage, truncated, another program's schema): quarantined. */
export class CorruptStoreError extends Error {
  override name = "CorruptStoreError";
}

/** A write that did not commit (a full disk, an I/O error): nothing of it is stored and the caller must not ack. */
export class StoreWriteError extends Error {
  override name = "StoreWriteError";

  constructor(readonly path: string, cause: unknown) {
    super(`Cannot write store ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** SQLite's messages for SQLITE_CORRUPT and SQLITE_NOTADB (node:sqlite gives no error code). */
const SQLITE_CORRUPTION = /database disk image is malformed|file is not a database/;

/** Whether opening failed because of the file's content, not its surroundings (a full disk, a lock, rights). */
export function isCorruption(error: unknown): boolean {
  return error instanceof CorruptStoreError ||
    (error instanceof Error && SQLITE_CORRUPTION.test(error.message));
}
