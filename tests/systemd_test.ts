// The unit files pass `systemd-analyze verify` unchanged, against a temporary root that holds the
// system's own units and stand-ins for the binaries their ExecStart names.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const UNITS = fileURLToPath(new URL("../systemd/", import.meta.url));
const SYSTEM_UNITS = "/usr/lib/systemd/system";

async function verifyInRoot(units: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const root = await Deno.makeTempDir({ prefix: "kedge-systemd-" });
  try {
    await Deno.mkdir(join(root, "usr/lib/systemd"), { recursive: true });
    await new Deno.Command("cp", { args: ["-r", SYSTEM_UNITS, join(root, "usr/lib/systemd/")] }).output();
    await Deno.mkdir(join(root, "etc/systemd/system"), { recursive: true });
    for (const [name, text] of Object.entries(units)) {
      await Deno.writeTextFile(join(root, "etc/systemd/system", name), text);
      for (const [, binary = ""] of text.matchAll(/^ExecStart=(\S+)/gm)) {
        await Deno.mkdir(join(root, dirname(binary)), { recursive: true });
        await Deno.writeTextFile(join(root, binary), "#!/bin/sh\n", { mode: 0o755 });
      }
    }
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", `--root=${root}`, ...Object.keys(units).map((n) => `/etc/systemd/system/${n}`)],
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function readUnits(): Promise<Record<string, string>> {
  return {
    "edgecore.service": await Deno.readTextFile(join(UNITS, "edgecore.service")),
    "cloudcore.service": await Deno.readTextFile(join(UNITS, "cloudcore.service")),
  };
}

Deno.test("systemd-analyze verify accepts both unit files without a warning", async () => {
  const { code, stderr } = await verifyInRoot(await readUnits());
  assert.equal(stderr, "");
  assert.equal(code, 0);
});

Deno.test("systemd-analyze verify reports a misspelt key, so the check above can fail", async () => {
  const units = await readUnits();
  const broken = units["edgecore.service"]!.replace("Restart=always", "Restartt=always");
  const { stderr } = await verifyInRoot({ "edgecore.service": broken });
  assert.match(stderr, /Unknown key 'Restartt'/);
});

Deno.test("units restart always, never on exit 78, keep state, and edgecore follows containerd", async () => {
  const units = await readUnits();
  for (const text of Object.values(units)) {
    assert.match(text, /^Restart=always$/m);
    assert.match(text, /^RestartPreventExitStatus=78$/m);
    assert.match(text, /^StateDirectory=kubeedge$/m);
    assert.match(text, /^NoNewPrivileges=yes$/m);
  }
  const edge = units["edgecore.service"]!;
  assert.match(edge, /^After=.*\bcontainerd\.service\b/m);
  // Stopping edgecore must not reach anything it started that outlives it.
  assert.match(edge, /^KillMode=process$/m);
});
