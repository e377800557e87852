/**
 * Prepared statements kept for the connection's life. A statement prepared per call holds native memory
 * until the garbage collector finalizes its small JS handle, which an idle process rarely does.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class Statements {
  readonly #cache = new Map<string, StatementSync>();

  constructor(private readonly db: DatabaseSync) {}

  /** The prepared statement for `sql`, prepared on first use. */
  get(sql: string): StatementSync {
    let statement = this.#cache.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#cache.set(sql, statement);
    }
    return statement;
  }
}
