import assert from "node:assert/strict";
import { queryPorts } from "./port_forward.ts";
import { HttpError } from "./http_util.ts";

Deno.test("a WebSocket forward's ports are read from every port value, comma lists included", () => {
  assert.deepEqual(queryPorts(new URLSearchParams("port=80&port=8080,9090"), 64), [80, 8080, 9090]);
});

Deno.test("a WebSocket forward refuses no ports, bad ports and more than maxPorts with 400", () => {
  const refused = (query: string, pattern: RegExp) =>
    assert.throws(
      () => queryPorts(new URLSearchParams(query), 3),
      (error) => error instanceof HttpError && error.status === 400 && pattern.test(error.message),
    );
  refused("", /"port" is required/);
  refused("port=", /"" is not a port/);
  refused("port=0", /"0" is not a port/);
  refused("port=65536", /not a port/);
  refused("port=8o", /not a port/);
  refused("port=1,2&port=3,4", /more than 3 ports/);
});
