/**
 * The resync report: on every (re)connect the edge says what it holds, and the cloud sends the difference.
 *
 *   route   {source: "edgehub", group: "resource", operation: "update", resource: "null/objectsync/<node>"}
 *   content {"objects": [{"uid": "...", "resourceVersion": "123", "resource": "default/pod/nginx"}, ...]}
 *
 * "update" of an "objectsync" resource: the edge updates the cloud's view of what it holds. An operation of
 * our own ("sync") would be outside lib/protocol's Operation union that every exhaustive switch relies on,
 * and upstream cloudcore ignores resource types it does not know, so the message is harmless there.
 * See docs/resync.md.
 */
import * as v from "valibot";
import { buildResource, isResourceVersion, MAX_RESOURCE_VERSION_LENGTH } from "../../lib/protocol/mod.ts";

export const SYNC_REPORT_TYPE = "objectsync";
export const SYNC_REPORT_OPERATION = "update";
export const SYNC_REPORT_SOURCE = "edgehub";
/** Objects one report may list; far above what a node holds (kubelet's default is 110 pods). */
export const MAX_SYNC_OBJECTS = 10_000;
/** Object uids are UUIDs (36 characters). */
export const MAX_UID_LENGTH = 64;
/** `<namespace (63)>/<type>/<name (253)>` with room to spare. */
export const MAX_REPORTED_RESOURCE_LENGTH = 512;
/** Bytes of report content: MAX_SYNC_OBJECTS entries at about 200 bytes, within the hub's frame limit. */
export const MAX_SYNC_REPORT_BYTES = 4 * 1024 * 1024;

export interface HeldObject {
  readonly uid: string;
  readonly resourceVersion: string;
  readonly resource: string;
}

const HeldObjectSchema = v.object({
  uid: v.pipe(v.string(), v.nonEmpty(), v.maxLength(MAX_UID_LENGTH)),
  resourceVersion: v.pipe(
    v.string(),
    v.maxLength(MAX_RESOURCE_VERSION_LENGTH),
    v.check(isResourceVersion, "resourceVersion must be decimal digits"),
  ),
  resource: v.pipe(v.string(), v.nonEmpty(), v.maxLength(MAX_REPORTED_RESOURCE_LENGTH)),
});

const SyncReportSchema = v.object({
  objects: v.pipe(
    v.array(HeldObjectSchema),
    v.maxLength(MAX_SYNC_OBJECTS, `a report lists at most ${MAX_SYNC_OBJECTS} objects`),
  ),
});

/** The report resource for `node`: `null/objectsync/<node>`. */
export function syncReportResource(node: string): string {
  return buildResource({ namespace: null, type: SYNC_REPORT_TYPE, name: node });
}

/** Reads report content; a string is read as JSON (upstream sends some contents that way). */
export function parseSyncReport(content: unknown): { ok: true; objects: HeldObject[] } | {
  ok: false;
  why: string;
} {
  let value = content;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, why: "content is a string that is not JSON" };
    }
  }
  const parsed = v.safeParse(SyncReportSchema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join(".") ?? "";
    return { ok: false, why: `${path ? `${path}: ` : ""}${issue.message}` };
  }
  return { ok: true, objects: parsed.output.objects };
}
