/**
 * A small filesystem to fill up: a tmpfs mounted on a new temporary directory (root only). fill() writes a
 * file until the kernel says ENOSPC, down to the last byte; free() removes it.
 */
import { join } from "node:path";

export interface SmallDisk {
  readonly dir: string;
  fill(): void;
  free(): void;
  unmount(): Promise<void>;
}

export async function mountSmallDisk(size = "2m"): Promise<SmallDisk> {
  const dir = await Deno.makeTempDir({ prefix: "kedge-small-disk-" });
  await run("mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
  const filler = join(dir, "filler");
  return {
    dir,
    fill() {
      using file = Deno.openSync(filler, { write: true, create: true, append: true });
      for (const chunk of [64 * 1024, 512, 1]) {
        const bytes = new Uint8Array(chunk).fill(0x2e);
        try {
          for (;;) file.writeSync(bytes);
        } catch (error) {
          if (!(error instanceof Error) || !/No space left/.test(error.message)) throw error;
        }
      }
    },
    free() {
      Deno.removeSync(filler);
    },
    async unmount() {
      // Lazily when busy (a test that failed with the store open): the mount goes once the files close.
      await run("umount", dir).catch(() => run("umount", "--lazy", dir));
      await Deno.remove(dir);
    },
  };
}

async function run(command: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" })
    .output();
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
}
