import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  applicationKey,
  applicationOutcome,
  applicationRequest,
  applicationResponse,
  isApplicationRequest,
  parseApplicationKey,
  readApplication,
} from "./application.ts";
import { decode, encode } from "./codec.ts";

Deno.test("application keys are upstream's /<group>/<version>/<resource>/<namespace>/<name>", () => {
  assert.equal(applicationKey("", "v1", "services", "ns", ""), "/core/v1/services/ns/null");
  assert.deepEqual(parseApplicationKey("/core/v1/services/default/kubernetes"), {
    group: "",
    version: "v1",
    resource: "services",
    namespace: "default",
    name: "kubernetes",
  });
  assert.equal(parseApplicationKey("/core/v1/services")?.resource, undefined);
  assert.equal(parseApplicationKey("core/v1/services/a/b"), undefined);
});

Deno.test("an application request goes up as KubeEdge's MetaServer sends it and survives the codec", () => {
  const request = applicationRequest("edge-1", "list", "/core/v1/services/ns/null");
  const decoded = decode(encode(request));
  assert.ok(decoded.ok);
  const message = decoded.message;
  assert.deepEqual(message.route, {
    source: "metaserver",
    group: "dynamiccontroller",
    operation: "null",
    resource: "null",
  });
  assert.ok(isApplicationRequest(message));
  const app = readApplication(message.content);
  assert.ok(app.success);
  assert.equal(app.output.Verb, "list");
  assert.equal(app.output.Nodename, "edge-1");
  assert.equal(app.output.ID.length, 64);
  assert.equal(Buffer.from(app.output.Option ?? "", "base64").toString(), "{}");
});

Deno.test("an approved answer carries the body base64 in RespBody; a rejected one its Status", () => {
  const request = applicationRequest("edge-1", "get", "/core/v1/services/default/kubernetes");
  const app = readApplication(request.content);
  assert.ok(app.success);
  const body = { kind: "Service", metadata: { name: "kubernetes" } };
  const approved = decode(encode(applicationResponse(request, app.output, { body })));
  assert.ok(approved.ok);
  assert.deepEqual(approved.message.route, {
    source: "dynamiccontroller",
    group: "resource",
    operation: "applicationResponse",
    resource: "ignore/Application/ignore",
  });
  assert.equal(approved.message.header.parent_msg_id, request.header.msg_id);
  assert.deepEqual(applicationOutcome(approved.message), { ok: true, body });
  const rejected = applicationResponse(request, app.output, {
    errStatus: { status: "Failure", code: 403, reason: "Forbidden", message: "no" },
  });
  assert.equal((rejected.content as { Status: string }).Status, "Rejected");
  assert.deepEqual(applicationOutcome(rejected), { ok: false, reason: "Rejected: no", code: 403 });
});

Deno.test("a reply that is no Application is a failure, not an empty answer", () => {
  const request = applicationRequest("edge-1", "get", "/core/v1/services/default/kubernetes");
  const notApp = { ...request, content: { Object: null, Err: { ErrStatus: { message: "denied" } } } };
  assert.equal(applicationOutcome(notApp).ok, false);
});
