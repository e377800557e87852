import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../lib/log.ts";
import { certificateToPem, createCa, issueCertificate, privateKeyToPem } from "../../lib/pki/mod.ts";
import { certificateValidity, rotationTime, runCertificateRotation } from "./rotation.ts";

const quiet = createLogger({ level: "error", write: () => {} });

Deno.test("rotation time falls between 70 % and 90 % of the certificate's life", () => {
  const from = new Date(0);
  const to = new Date(1000);
  assert.equal(rotationTime(from, to, 0), 700);
  assert.ok(Math.abs(rotationTime(from, to, 0.5) - 800) < 1e-9);
  assert.ok(rotationTime(from, to, 0.999999) < 900);
});

async function leaf(ca: Awaited<ReturnType<typeof createCa>>, validityMs: number) {
  const issued = await issueCertificate({ ca, commonName: "system:node:n1", usages: ["client"], validityMs });
  return { certPem: certificateToPem(issued.cert), keyPem: await privateKeyToPem(issued.keys!.privateKey) };
}

Deno.test("a due certificate is renewed, written with a 0600 key, and the hub is told to reconnect", async () => {
  const dir = await Deno.makeTempDir();
  const controller = new AbortController();
  try {
    const ca = await createCa({ commonName: "ca" });
    const first = await leaf(ca, 60_000);
    const files = {
      caFile: join(dir, "ca.crt"),
      certFile: join(dir, "server.crt"),
      keyFile: join(dir, "server.key"),
    };
    await Deno.writeTextFile(files.caFile, certificateToPem(ca.cert));
    await Deno.writeTextFile(files.certFile, first.certPem);
    await Deno.writeTextFile(files.keyFile, first.keyPem);
    const second = await leaf(ca, 3_600_000);
    let renewedWith = "";
    const rotated = Promise.withResolvers<void>();
    const running = runCertificateRotation({
      files,
      // A clock past 90 % of the first certificate's life makes the renewal due at once.
      now: () => certificateValidity(first.certPem).notAfter.getTime() - 1,
      renew: (current) => {
        renewedWith = current.certPem;
        return Promise.resolve(second);
      },
      onRotated: () => {
        controller.abort();
        rotated.resolve();
      },
      log: quiet,
      signal: controller.signal,
    });
    await rotated.promise;
    await running;
    assert.equal(renewedWith, first.certPem, "renewal is authenticated by the current certificate");
    assert.equal(await Deno.readTextFile(files.certFile), second.certPem);
    assert.equal(await Deno.readTextFile(files.keyFile), second.keyPem);
    assert.equal((await Deno.stat(files.keyFile)).mode! & 0o777, 0o600);
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed renewal keeps the current files and is retried", async () => {
  const dir = await Deno.makeTempDir();
  const controller = new AbortController();
  try {
    const ca = await createCa({ commonName: "ca" });
    const first = await leaf(ca, 60_000);
    const files = {
      caFile: join(dir, "ca.crt"),
      certFile: join(dir, "server.crt"),
      keyFile: join(dir, "server.key"),
    };
    await Deno.writeTextFile(files.caFile, certificateToPem(ca.cert));
    await Deno.writeTextFile(files.certFile, first.certPem);
    await Deno.writeTextFile(files.keyFile, first.keyPem);
    let attempts = 0;
    const second = Promise.withResolvers<void>();
    const running = runCertificateRotation({
      files,
      now: () => certificateValidity(first.certPem).notAfter.getTime() - 1,
      renew: () => {
        attempts++;
        if (attempts === 2) {
          controller.abort();
          second.resolve();
        }
        return Promise.reject(new Error("cloud away"));
      },
      onRotated: () => assert.fail("nothing was rotated"),
      log: quiet,
      signal: controller.signal,
      retryMs: 10,
    });
    await second.promise;
    await running;
    assert.equal(attempts, 2);
    assert.equal(await Deno.readTextFile(files.certFile), first.certPem);
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
