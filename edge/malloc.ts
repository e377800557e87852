/**
 * glibc's malloc keeps freed memory at the top of its heap until more than its trim threshold is free, and
 * raises that threshold (up to 32 MiB) each time a large block is freed. An idle edgecore's runtime frees
 * such blocks all the time (TLS records, SQLite, HTTP/2 frames), so anonymous memory crept up by ~10 MiB in
 * 4 minutes and stayed there. A fixed threshold of 64 KiB (mallopt M_TRIM_THRESHOLD, which also stops the
 * raising) returns it: idle at 225 s, 28 MiB anonymous instead of 37 (bench/README.md).
 * Set through FFI at start, so the compiled binary gets it without an environment variable; where there is
 * no glibc (or no FFI permission) nothing changes.
 */
import type { Logger } from "../lib/log.ts";

const M_TRIM_THRESHOLD = -1;
export const TRIM_THRESHOLD_BYTES = 64 * 1024;

export function limitMallocRetention(log: Logger): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    const libc = Deno.dlopen("libc.so.6", { mallopt: { parameters: ["i32", "i32"], result: "i32" } });
    try {
      return libc.symbols.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) === 1;
    } finally {
      libc.close();
    }
  } catch (error) {
    log.debug("malloc trim threshold left as it is", { error });
    return false;
  }
}
