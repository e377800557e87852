// The edge's memory of Kubernetes objects, keyed by wire resource (default/pod/nginx). Newest
// resourceVersion wins per object UID and a write returns only after it is committed, so the hub can ack.
import { Statements } from "./statements.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { compareResourceVersion } from "../../lib/protocol/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { openDatabase } from "./open.ts";
import { StoreWriteError } from "./errors.ts";

export interface StoredObject<T = unknown> {
  key: string;
  type: string;
  uid: string;
  resourceVersion: string;
  value: T;
}

export type PutResult = "stored" | "stale" | "unchanged";

export class EdgeStore {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;
  readonly #byKey: StatementSync;
  readonly #byUid: StatementSync;
  readonly #upsert: StatementSync;
  readonly #deleteKey: StatementSync;
  readonly #listType: StatementSync;
  readonly #inventory: StatementSync;
  readonly quarantined?: string;
  readonly #path: string;

  constructor(path: string, log: Logger) {
    this.#path = path;
    const opened = openDatabase(path, log);
    this.#db = opened.db;
    this.#sql = new Statements(this.#db);
    this.quarantined = opened.quarantined;
    this.#byKey = this.#sql.get("SELECT key, type, uid, resource_version, value FROM meta WHERE key = ?");
    this.#byUid = this.#sql.get("SELECT key, type, uid, resource_version, value FROM meta WHERE uid = ?");
    this.#upsert = this.#sql.get(
      `INSERT INTO meta (key, type, uid, resource_version, value, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET type = excluded.type, uid = excluded.uid,
         resource_version = excluded.resource_version, value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#deleteKey = this.#sql.get("DELETE FROM meta WHERE key = ?");
    this.#listType = this.#sql.get(
      "SELECT key, type, uid, resource_version, value FROM meta WHERE type = ? ORDER BY key",
    );
    this.#inventory = this.#sql.get("SELECT uid, resource_version FROM meta");
  }

  /**
   * Stores the object unless the store holds the same UID at a newer resourceVersion. An object that
   * replaces another under the same key (deleted and recreated: new UID) replaces it.
   */
  put(object: StoredObject): PutResult {
    return this.#transaction(() => {
      const existing = (this.#byUid.get(object.uid) ?? this.#byKey.get(object.key)) as Row | undefined;
      if (existing && existing.uid === object.uid) {
        const order = compareResourceVersion(object.resourceVersion, existing.resource_version);
        if (order < 0) return "stale";
        if (order === 0) return "unchanged";
        if (existing.key !== object.key) this.#deleteKey.run(existing.key);
      }
      this.#upsert.run(
        object.key,
        object.type,
        object.uid,
        object.resourceVersion,
        JSON.stringify(object.value),
        Date.now(),
      );
      return "stored";
    });
  }

  get<T = unknown>(key: string): StoredObject<T> | undefined {
    return toObject<T>(this.#byKey.get(key) as Row | undefined);
  }

  /** Deletes by key; with a uid, only when the stored object is that one (a recreated object stays). */
  delete(key: string, uid?: string): boolean {
    return this.#transaction(() => {
      const existing = this.#byKey.get(key) as Row | undefined;
      if (!existing || (uid !== undefined && existing.uid !== uid)) return false;
      this.#deleteKey.run(key);
      return true;
    });
  }

  list<T = unknown>(type: string): StoredObject<T>[] {
    return (this.#listType.all(type) as unknown as Row[]).map((row) => toObject<T>(row)!);
  }

  /** uid -> resourceVersion of everything held: what the edge reports on (re)connect. */
  inventory(): Map<string, string> {
    const rows = this.#inventory.all() as unknown as Array<{ uid: string; resource_version: string }>;
    return new Map(rows.map((r) => [r.uid, r.resource_version]));
  }

  /** Every object held, with its key: what the edge reports on (re)connect so the cloud sends the difference. */
  holdings(): Array<{ uid: string; resourceVersion: string; resource: string }> {
    const rows = this.#sql.get("SELECT key, uid, resource_version FROM meta ORDER BY key")
      .all() as unknown as Array<
        { key: string; uid: string; resource_version: string }
      >;
    return rows.map((r) => ({ uid: r.uid, resourceVersion: r.resource_version, resource: r.key }));
  }

  /** Remembers the latest message for key to send upstream when the cloud is back. */
  putUpstream(key: string, message: unknown): void {
    this.#transaction(() =>
      this.#sql.get(
        `INSERT INTO upstream (key, message, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET message = excluded.message, updated_at = excluded.updated_at`,
      ).run(key, JSON.stringify(message), Date.now())
    );
  }

  pendingUpstream(): Array<{ key: string; message: unknown }> {
    const rows = this.#sql.get("SELECT key, message FROM upstream ORDER BY updated_at")
      .all() as unknown as Array<
        { key: string; message: string }
      >;
    return rows.map((r) => ({ key: r.key, message: JSON.parse(r.message) }));
  }

  /** Forgets an upstream message once sent, unless a newer one replaced it meanwhile. */
  clearUpstream(key: string, message: unknown): void {
    this.#transaction(() =>
      this.#sql.get("DELETE FROM upstream WHERE key = ? AND message = ?").run(key, JSON.stringify(message))
    );
  }

  /** The open SQLite connection, for modules that keep their own tables in the same file (device twins). */
  get database(): DatabaseSync {
    return this.#db;
  }

  close(): void {
    this.#db.close();
  }

  /** Runs work in one transaction; a failure is a StoreWriteError naming the file, and nothing of it is kept. */
  #transaction<T>(work: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const result = work();
        this.#db.exec("COMMIT");
        return result;
      } catch (error) {
        // SQLite rolls back by itself on some errors (a full disk): a second ROLLBACK would throw "no
        // transaction is active" and hide the cause.
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      throw new StoreWriteError(this.#path, error);
    }
  }
}

interface Row {
  key: string;
  type: string;
  uid: string;
  resource_version: string;
  value: string;
}

function toObject<T>(row: Row | undefined): StoredObject<T> | undefined {
  if (!row) return undefined;
  return {
    key: row.key,
    type: row.type,
    uid: row.uid,
    resourceVersion: row.resource_version,
    value: JSON.parse(row.value),
  };
}
