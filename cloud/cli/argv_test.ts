import assert from "node:assert/strict";
import { commonFlags } from "../../lib/cli/mod.ts";
import { flagValues, joinGroupCommand } from "./argv.ts";
import { residualTime } from "./certs_check.ts";

const FLAGS = commonFlags("/etc/x.yaml");

Deno.test("certs and its subcommand become one command word, wherever the flags are", () => {
  assert.deepEqual(joinGroupCommand(["certs", "renew"], FLAGS, ["certs"]), ["certs renew"]);
  assert.deepEqual(
    joinGroupCommand(["--config", "certs", "certs", "--log-level=warn", "check-expiration"], FLAGS, [
      "certs",
    ]),
    ["--config", "certs", "certs check-expiration", "--log-level=warn"],
  );
  assert.deepEqual(joinGroupCommand(["run", "extra"], FLAGS, ["certs"]), ["run", "extra"]);
  assert.deepEqual(joinGroupCommand(["certs"], FLAGS, ["certs"]), ["certs"]);
});

Deno.test("a repeatable flag gives every value, repeated or comma-separated", () => {
  assert.deepEqual(
    flagValues(
      ["--dns-name", "a.example", "init", "--dns-name=b.example,c.example", "--other=x"],
      "dns-name",
    ),
    ["a.example", "b.example", "c.example"],
  );
  assert.deepEqual(flagValues(["init"], "dns-name"), []);
});

Deno.test("residual time reads like kubeadm's: seconds to years, <invalid> once expired", () => {
  assert.equal(residualTime(30_000), "30s");
  assert.equal(residualTime(90 * 60_000), "1h");
  assert.equal(residualTime(364 * 86_400_000), "364d");
  assert.equal(residualTime(100 * 365 * 86_400_000), "100y");
  assert.equal(residualTime(-5_000), "<invalid>");
});
