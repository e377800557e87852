// The store's tables, versioned with PRAGMA user_version. `meta` keeps upstream's name and its
// key/type/value columns (key = the wire resource) and adds what resync needs: uid and resourceVersion.
import { DatabaseSync } from "node:sqlite";
import { CorruptStoreError } from "./errors.ts";

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
  // Mappers registered over DMI (edge/dmi), one per protocol as upstream keys them: edgecore calls them
  // again after a restart without waiting for them to register.
  `CREATE TABLE dmi_mapper (
     protocol TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     socket TEXT NOT NULL,
     info TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // The Services the cloud last named for pods' service environment variables (edge/meta/service_lister.ts),
  // kept apart from meta: they are answers to the edge's own questions, not deliveries the resync reconciles.
  `CREATE TABLE service (
     namespace TEXT NOT NULL,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (namespace, name)
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
  // A migration sets user_version together with its tables, so tables at version 0 are another program's.
  if (current === 0 && columnsOf(db).size > 0) {
    throw new CorruptStoreError("Cannot open store: it has tables but no edgecore schema version");
  }
  applyMigrations(db, current);
}

/**
 * Throws CorruptStoreError unless every table and column this edgecore uses is there and every JSON column
 * parses: a file whose user_version lies would fail later at a prepare, and a row whose tail was cut off
 * (a truncated file passes quick_check) at every read of it, both on every start.
 */
export function checkStore(db: DatabaseSync): void {
  const held = columnsOf(db);
  const missing = [...expectedColumns()].flatMap(([table, columns]) =>
    [...columns].filter((column) => !held.get(table)?.has(column)).map((column) => `${table}.${column}`)
  );
  if (missing.length > 0) {
    throw new CorruptStoreError(`Cannot open store: schema ${SCHEMA_VERSION} lacks ${missing.join(", ")}`);
  }
  for (const [table, column] of JSON_COLUMNS) {
    const { n } = db.prepare(`SELECT count(*) AS n FROM ${table} WHERE NOT json_valid(${column})`).get() as {
      n: number;
    };
    if (n > 0) throw new CorruptStoreError(`Cannot open store: ${n} rows of ${table} hold broken JSON`);
  }
}

/** The columns the store reads as JSON. */
const JSON_COLUMNS = [
  ["meta", "value"],
  ["upstream", "message"],
  ["device_attr", "metadata"],
  ["device_twin", "twin"],
  ["twin_report", "twin"],
  ["dmi_mapper", "info"],
  ["service", "value"],
] as const;

function applyMigrations(db: DatabaseSync, current: number): void {
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK"); // SQLite may have rolled back already (a full disk)
      throw error;
    }
  }
}

let expected: Map<string, Set<string>> | undefined;

/** The tables and columns the migrations make, read back from a scratch database. */
function expectedColumns(): Map<string, Set<string>> {
  if (!expected) {
    const scratch = new DatabaseSync(":memory:");
    try {
      applyMigrations(scratch, 0);
      expected = columnsOf(scratch);
    } finally {
      scratch.close();
    }
  }
  return expected;
}

function columnsOf(db: DatabaseSync): Map<string, Set<string>> {
  const tables = db.prepare(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  )
    .all() as Array<{ name: string }>;
  const columnsOfTable = db.prepare("SELECT name FROM pragma_table_info(?)");
  return new Map(tables.map(({ name }) => [
    name,
    new Set((columnsOfTable.all(name) as Array<{ name: string }>).map((column) => column.name)),
  ]));
}
