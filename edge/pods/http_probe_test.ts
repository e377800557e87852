import assert from "node:assert/strict";
import { httpProbe } from "./http_probe.ts";

/** A real HTTP server on a free loopback port, shaped like agnhost's liveness and redirect handlers. */
async function withServer(fn: (base: string) => Promise<void>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname === "/broken") return new Response("secret detail", { status: 500 });
    if (url.pathname === "/redirect") {
      const loc = url.searchParams.get("loc") ?? "/";
      return new Response(`<a href="${loc}">Found</a>.`, { status: 302, headers: { location: loc } });
    }
    if (url.pathname === "/loop") return new Response(null, { status: 302, headers: { location: "/loop" } });
    if (url.pathname === "/big") return new Response("x".repeat(100_000));
    return new Response("not found", { status: 404 });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("httpGet probe: 2xx passes, other statuses fail without the body, as the kubelet's", async () => {
  await withServer(async (base) => {
    assert.deepEqual(await httpProbe(`${base}/healthz`, {}, 2000), { result: "success", output: "ok" });
    assert.deepEqual(await httpProbe(`${base}/broken`, {}, 2000), {
      result: "failure",
      output: "HTTP probe failed with statuscode: 500",
    });
  });
});

Deno.test("httpGet probe: a redirect to the same host is followed and judged by where it leads", async () => {
  await withServer(async (base) => {
    const ok = await httpProbe(`${base}/redirect?loc=${encodeURIComponent("/healthz")}`, {}, 2000);
    assert.deepEqual(ok, { result: "success", output: "ok" });
    const broken = await httpProbe(`${base}/redirect?loc=${encodeURIComponent("/broken")}`, {}, 2000);
    assert.equal(broken.result, "failure");
    assert.deepEqual(await httpProbe(`${base}/loop`, {}, 2000), {
      result: "failure",
      output: "stopped after 10 redirects",
    });
  });
});

Deno.test("httpGet probe: a redirect to another host is not followed and passes with a warning", async () => {
  await withServer(async (base) => {
    const r = await httpProbe(`${base}/redirect?loc=${encodeURIComponent("http://0.0.0.0/")}`, {}, 2000);
    assert.deepEqual(r, {
      result: "warning",
      output: 'Probe terminated redirects, Response body: <a href="http://0.0.0.0/">Found</a>.',
    });
  });
});

Deno.test("httpGet probe: reads at most 10 KiB of a body; a refused connection fails", async () => {
  await withServer(async (base) => {
    const big = await httpProbe(`${base}/big`, {}, 2000);
    assert.equal(big.output.length, 10 * 1024);
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const refused = await httpProbe(`http://127.0.0.1:${port}/`, {}, 2000);
  assert.equal(refused.result, "failure");
});
