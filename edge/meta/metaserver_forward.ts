// Writes that apps on the box send to the MetaServer, carried to the cloud as the edge's own requests, so
// node authorization in cloudcore applies to them. Only what an edge may ask for is forwarded.
import { buildResource, newMessage, replyOutcome } from "../../lib/protocol/mod.ts";
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
      // Source edged: KubeEdge's cloud hands source "metaserver" to its dynamic controller, off by default.
      newMessage({ source: "edged", group: "meta", operation: "patch", resource, content: body }),
      10_000,
    );
    const outcome = replyOutcome(reply);
    if (!outcome.ok) return status(403, "Forbidden", `Cannot patch: ${outcome.reason}`);
    return Response.json(outcome.object ?? {}, { status: 200 });
  };
}
