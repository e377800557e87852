/** The registered mappers in edgecore's SQLite file (table dmi_mapper, one row per protocol). */
import type { DatabaseSync } from "node:sqlite";

export interface MapperRecord {
  readonly protocol: string;
  readonly name: string;
  readonly socket: string;
  /** MapperInfo as registered (version, apiVersion, state), for `dmi` logs and metrics. */
  readonly info: { version: string; apiVersion: string; state: string };
}

export class MapperTable {
  constructor(private readonly db: DatabaseSync) {}

  all(): MapperRecord[] {
    const rows = this.db.prepare("SELECT protocol, name, socket, info FROM dmi_mapper ORDER BY protocol")
      .all() as unknown as Array<{ protocol: string; name: string; socket: string; info: string }>;
    return rows.map((r) => ({
      protocol: r.protocol,
      name: r.name,
      socket: r.socket,
      info: JSON.parse(r.info),
    }));
  }

  put(record: MapperRecord): void {
    this.db.prepare(
      `INSERT INTO dmi_mapper (protocol, name, socket, info, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(protocol) DO UPDATE SET name = excluded.name, socket = excluded.socket, info = excluded.info,
         updated_at = excluded.updated_at`,
    ).run(record.protocol, record.name, record.socket, JSON.stringify(record.info), Date.now());
  }
}
