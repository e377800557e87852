export { EdgeStore, type PutResult, type StoredObject } from "./store.ts";
export { BUSY_TIMEOUT_MS, openDatabase } from "./open.ts";
export { SCHEMA_VERSION, SchemaTooNewError } from "./schema.ts";
export { CorruptStoreError, StoreWriteError } from "./errors.ts";
