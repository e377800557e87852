// Writes that apps on the box send to the MetaServer, carried to the cloud as the edge's own requests, so
// node authorization in cloudcore applies to them. Only what an edge may ask for is forwarded.
import { buildResource, newMessage } from "../../lib/protocol/mod.ts";
import type { Uplink } from "./upstream.ts";

const POD_STATUS = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/status$/;
const MAX_BODY_BYTES = 1024 * 1024;

function status(code: number, reason: string, message: string): Response {
  return Response.json({ kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code }, {
    status: code,
  });
}

export function metaServerForward(uplink: Uplink): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname;
    const podStatus = POD_STATUS.exec(path);
    if (request.method !== "PATCH" || !podStatus) {
      return status(
        405,
        "MethodNotAllowed",
        `Cannot forward ${request.method} ${path}: the edge forwards only pod status patches`,
      );
    }
    const body = await request.text();
    if (body.length > MAX_BODY_BYTES) {
      return status(413, "RequestEntityTooLarge", "Cannot forward: body over 1 MiB");
    }
    const [, namespace = "", name = ""] = podStatus;
    const resource = buildResource({ namespace, type: "podpatch", name });
    const reply = await uplink.request(
      newMessage({ source: "metaserver", group: "meta", operation: "patch", resource, content: body }),
      10_000,
    );
    if (reply.route.operation === "error") {
      return status(403, "Forbidden", `Cannot patch: ${JSON.stringify(reply.content)}`);
    }
    const content = reply.content as { Object?: unknown } | undefined;
    return Response.json(content?.Object ?? {}, { status: 200 });
  };
}
