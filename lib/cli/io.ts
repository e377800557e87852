/** Where an entrypoint writes: standard output and error by default, replaced in tests. */

export interface MainIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const encoder = new TextEncoder();

/** The process's standard output and error, written synchronously and in full. */
export const STDIO: MainIO = {
  stdout: (text) => writeAllSync(Deno.stdout, text),
  stderr: (text) => writeAllSync(Deno.stderr, text),
};

export function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}
