import assert from "node:assert/strict";
import * as v from "valibot";
import { httpResponseContent, parseHttpRequest, parseHttpResponse } from "./http_wire.ts";

Deno.test("HTTPRequest and HTTPResponse contents read as Go writes them ([]byte in base64, nil as null)", () => {
  const req = parseHttpRequest({ header: { A: ["1"] }, body: btoa("hi"), method: "POST", url: "" }, 10);
  assert.equal(new TextDecoder().decode(req.body), "hi");
  assert.deepEqual(req.header, { A: ["1"] });
  const empty = parseHttpRequest({ header: null, body: null, method: "GET" }, 10);
  assert.equal(empty.body.byteLength, 0);
  assert.deepEqual(empty.header, {});
  const content = httpResponseContent({ header: {}, status_code: 201, body: new TextEncoder().encode("ok") });
  assert.deepEqual(content, { header: {}, status_code: 201, body: btoa("ok") });
  assert.equal(parseHttpResponse(content, 10).status_code, 201);
});

Deno.test("a body over the limit, a bad status or non-base64 body is refused", () => {
  assert.throws(() => parseHttpRequest({ body: btoa("x".repeat(11)) }, 10), v.ValiError);
  assert.throws(() => parseHttpResponse({ status_code: 99 }, 10), v.ValiError);
  assert.throws(() => parseHttpResponse({ status_code: 200, body: "!!" }, 10), v.ValiError);
});
