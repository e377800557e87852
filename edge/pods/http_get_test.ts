import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { httpGet } from "./http_get.ts";

/** A self-signed certificate, as a pod serving HTTPS usually has. */
async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const out = await new Deno.Command("openssl", {
    args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=pod", "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`]),
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return { cert: await Deno.readTextFile(`${dir}/cert.pem`), key: await Deno.readTextFile(`${dir}/key.pem`) };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
  );
}

const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.url === "/slow") return; // never answers
  if (req.url === "/big") return void res.end("x".repeat(100_000));
  res.writeHead(req.url === "/missing" ? 404 : 200);
  res.end(`${req.url} ${req.headers["x-probe"] ?? "-"} ${req.headers["user-agent"]}`);
};

Deno.test("httpGet speaks HTTPS to a self-signed pod without verifying it, and plain HTTP", async () => {
  const dir = await Deno.makeTempDir();
  const secure = https.createServer(await selfSigned(dir), handler);
  const plain = http.createServer(handler);
  try {
    const sp = await listen(secure);
    const pp = await listen(plain);
    const got = await httpGet({
      scheme: "HTTPS",
      host: "127.0.0.1",
      port: sp,
      path: "healthz",
      headers: { "X-Probe": "yes" },
      timeoutMs: 2000,
    });
    assert.deepEqual(got, { status: 200, body: "/healthz yes kube-probe/1.34" });
    assert.equal(
      (await httpGet({ host: "127.0.0.1", port: pp, path: "/missing", timeoutMs: 2000 })).status,
      404,
    );
    const big = await httpGet({ host: "127.0.0.1", port: pp, path: "/big", timeoutMs: 2000 });
    assert.equal(big.body.length, 10 * 1024, "the body is read up to 10 KiB");
    await assert.rejects(
      httpGet({ host: "127.0.0.1", port: pp, path: "/slow", timeoutMs: 300 }),
      /Cannot GET \/slow: timed out after 300 ms/,
    );
    await assert.rejects(httpGet({ scheme: "HTTP", host: "127.0.0.1", port: sp, timeoutMs: 2000 }));
  } finally {
    secure.closeAllConnections();
    plain.closeAllConnections();
    secure.close();
    plain.close();
    await Deno.remove(dir, { recursive: true });
  }
});
