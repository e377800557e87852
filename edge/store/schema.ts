// The store's tables, versioned with PRAGMA user_version. `meta` keeps upstream's name and its
// key/type/value columns (key = the wire resource) and adds what resync needs: uid and resourceVersion.
import type { DatabaseSync } from "node:sqlite";

const MIGRATIONS: string[] = [
  `CREATE TABLE meta (
     key TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     uid TEXT NOT NULL,
     resource_version TEXT NOT NULL,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX meta_uid ON meta(uid);
   CREATE INDEX meta_type ON meta(type);
   -- What the edge must tell the cloud and could not yet: the latest per key only.
   CREATE TABLE upstream (
     key TEXT PRIMARY KEY,
     message TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // Device twins (edge/twin): devices of this node (membership), their attributes and twins, and the latest
  // reported value per property that the cloud has not yet acknowledged.
  `CREATE TABLE device (
     id TEXT PRIMARY KEY,
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     state TEXT NOT NULL DEFAULT 'unknown',
     last_online TEXT NOT NULL DEFAULT '',
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE device_attr (
     device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     optional INTEGER NOT NULL DEFAULT 1,
     attr_type TEXT NOT NULL DEFAULT 'string',
     metadata TEXT NOT NULL DEFAULT '{}',
     PRIMARY KEY (device_id, name)
   );
   CREATE TABLE device_twin (
     device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     twin TEXT NOT NULL,
     PRIMARY KEY (device_id, name)
   );
   CREATE TABLE twin_report (
     device_id TEXT NOT NULL REFERENCES device(id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     twin TEXT NOT NULL,
     seq INTEGER NOT NULL,
     PRIMARY KEY (device_id, name)
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A file from a newer edgecore: not corrupt, so it must be neither quarantined nor downgraded. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

export function migrate(db: DatabaseSync): void {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  const current = row?.user_version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new SchemaTooNewError(
      `Cannot open store: its schema ${current} is newer than this edgecore's ${SCHEMA_VERSION}`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
