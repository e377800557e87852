/**
 * The twin tables in edgecore's SQLite file (migration in edge/store/schema.ts): device (membership),
 * device_attr, device_twin (one JSON twin per property, as on the wire) and twin_report (the latest
 * reported value per property that the cloud has not acknowledged). Writes run in one transaction each.
 */
import { Statements } from "../store/statements.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DeviceAttr, DeviceInfo, DeviceSpec, Twins } from "./types.ts";

export interface DeviceRow {
  id: string;
  namespace: string;
  name: string;
  description: string;
  state: string;
  last_online: string;
}

export interface ReportRow {
  device_id: string;
  name: string;
  twin: string;
  seq: number;
}

export class TwinStore {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;
  readonly #device: StatementSync;
  readonly #devices: StatementSync;
  readonly #twins: StatementSync;
  readonly #attrs: StatementSync;
  readonly #putTwin: StatementSync;
  readonly #putReport: StatementSync;
  #seq: number;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = new Statements(db);
    this.#device = db.prepare(
      "SELECT id, namespace, name, description, state, last_online FROM device WHERE id = ?",
    );
    this.#devices = db.prepare(
      "SELECT id, namespace, name, description, state, last_online FROM device ORDER BY id",
    );
    this.#twins = db.prepare("SELECT name, twin FROM device_twin WHERE device_id = ? ORDER BY name");
    this.#attrs = db.prepare(
      "SELECT name, value, optional, attr_type, metadata FROM device_attr WHERE device_id = ? ORDER BY name",
    );
    this.#putTwin = db.prepare(
      `INSERT INTO device_twin (device_id, name, twin) VALUES (?, ?, ?)
       ON CONFLICT(device_id, name) DO UPDATE SET twin = excluded.twin`,
    );
    this.#putReport = db.prepare(
      `INSERT INTO twin_report (device_id, name, twin, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT(device_id, name) DO UPDATE SET twin = excluded.twin, seq = excluded.seq`,
    );
    const max = db.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM twin_report").get() as { seq: number };
    this.#seq = max.seq;
  }

  device(id: string): DeviceRow | undefined {
    return this.#device.get(id) as DeviceRow | undefined;
  }

  deviceCount(): number {
    return (this.#sql.get("SELECT COUNT(*) AS n FROM device").get() as { n: number }).n;
  }

  twins(id: string): Twins {
    const rows = this.#twins.all(id) as unknown as Array<{ name: string; twin: string }>;
    return Object.fromEntries(rows.map((r) => [r.name, JSON.parse(r.twin)]));
  }

  attributes(id: string): Record<string, DeviceAttr> {
    const rows = this.#attrs.all(id) as unknown as Array<
      { name: string; value: string; optional: number; attr_type: string; metadata: string }
    >;
    return Object.fromEntries(rows.map((r) => [r.name, {
      value: r.value,
      optional: r.optional === 1,
      metadata: { ...JSON.parse(r.metadata), type: r.attr_type },
    }]));
  }

  /** A device on the wire, with its attributes and twins. */
  info(row: DeviceRow): DeviceInfo {
    const info: DeviceInfo = { id: row.id, name: row.name, state: row.state };
    if (row.description) info.description = row.description;
    if (row.last_online) info.last_online = row.last_online;
    info.attributes = this.attributes(row.id);
    info.twin = this.twins(row.id);
    return info;
  }

  devices(): DeviceInfo[] {
    return (this.#devices.all() as unknown as DeviceRow[]).map((row) => this.info(row));
  }

  /** Adds or refreshes a device; its attributes are replaced and twins the spec no longer names go. */
  putDevice(spec: DeviceSpec, now: number): void {
    const id = `${spec.namespace}/${spec.name}`;
    this.#sql.get(
      `INSERT INTO device (id, namespace, name, description, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET description = excluded.description, updated_at = excluded.updated_at`,
    ).run(id, spec.namespace, spec.name, spec.description ?? "", now);
    this.#sql.get("DELETE FROM device_attr WHERE device_id = ?").run(id);
    const putAttr = this.#sql.get(
      "INSERT INTO device_attr (device_id, name, value, optional, attr_type, metadata) VALUES (?, ?, ?, ?, ?, ?)",
    );
    for (const [name, attr] of Object.entries(spec.attributes ?? {})) {
      putAttr.run(
        id,
        name,
        attr.value,
        attr.optional === false ? 0 : 1,
        attr.metadata?.type ?? "string",
        "{}",
      );
    }
    const keep = new Set(Object.keys(spec.twin ?? {}));
    for (const name of Object.keys(this.twins(id))) {
      if (!keep.has(name)) {
        this.#sql.get("DELETE FROM device_twin WHERE device_id = ? AND name = ?").run(id, name);
      }
    }
  }

  removeDevice(id: string): boolean {
    return Number(this.#sql.get("DELETE FROM device WHERE id = ?").run(id).changes) > 0;
  }

  putTwins(id: string, twins: Twins): void {
    for (const [name, twin] of Object.entries(twins)) this.#putTwin.run(id, name, JSON.stringify(twin));
  }

  setState(id: string, state: string, lastOnline: string): void {
    this.#sql.get("UPDATE device SET state = ?, last_online = ? WHERE id = ?").run(state, lastOnline, id);
  }

  /** Keeps the latest reported twin per property; returns the report's sequence number. */
  putReports(id: string, twins: Twins): number {
    const seq = ++this.#seq;
    for (const [name, twin] of Object.entries(twins)) {
      this.#putReport.run(id, name, JSON.stringify(twin), seq);
    }
    return seq;
  }

  reports(): ReportRow[] {
    return this.#sql.get(
      "SELECT device_id, name, twin, seq FROM twin_report ORDER BY seq, device_id, name",
    )
      .all() as unknown as ReportRow[];
  }

  /** Forgets reported values the cloud has, unless a newer report replaced them meanwhile. */
  ackReports(id: string, names: readonly string[], seq: number): void {
    const remove = this.#sql.get("DELETE FROM twin_report WHERE device_id = ? AND name = ? AND seq <= ?");
    this.transaction(() => {
      for (const name of names) remove.run(id, name, seq);
    });
  }

  transaction<T>(work: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      // As EdgeStore's: SQLite has already rolled back on a full disk, and a second ROLLBACK would hide why.
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }
}
