/**
 * Small helpers around client-node calls: the apiserver's JSON as it came (typed results drop fields the
 * models do not know, and the edge must get whole objects), and the reason an ApiException carries.
 */
import { Buffer } from "node:buffer";
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  type RequestContext,
  ResponseContext,
  SelfDecodingBody,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { apiStatusOf } from "../kube/mod.ts";
import type { FailureStatus } from "./replies.ts";

// client-node reads a response body once, to deserialize it; this keeps the text so rawBody can read it again.
const keepBody: ObservableMiddleware = {
  pre: (request: RequestContext) => new Observable(Promise.resolve(request)),
  post: (response: ResponseContext) =>
    new Observable(
      response.body.text().then((text) =>
        new ResponseContext(
          response.httpStatusCode,
          response.headers,
          new SelfDecodingBody(Promise.resolve(Buffer.from(text))),
        )
      ),
    ),
};

/** Request options for a `...WithHttpInfo` call whose body {@link rawBody} reads. */
export const RAW: ConfigurationOptions<ObservableMiddleware> = {
  middleware: [keepBody],
  middlewareMergeStrategy: "append",
};
/** {@link RAW}, sending the body as a strategic-merge patch. */
export const STRATEGIC_MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch, RAW);
/** {@link RAW}, sending the body as a JSON merge patch. */
export const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch, RAW);

/**
 * The response body of a `...WithHttpInfo` call made with {@link RAW}, parsed from the apiserver's JSON
 * (the typed result drops fields client-node's models do not know).
 */
export async function rawBody<T>(info: { readonly body: { text(): Promise<string> } }): Promise<T> {
  return JSON.parse(await info.body.text()) as T;
}

/** "<status>: <apiserver message>" for an ApiException, or the error's message. */
export function apiFailureText(error: unknown): string {
  const status = apiStatusOf(error);
  if (status === undefined) return error instanceof Error ? error.message : String(error);
  const body = (error as { body?: unknown }).body;
  let message = "";
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === "object" && parsed !== null && "message" in parsed) {
        message = String(parsed.message);
      }
    } catch {
      message = body.slice(0, 200);
    }
  }
  return `apiserver answered ${status}${message ? `: ${message}` : ""}`;
}

/**
 * The Status to send an edge for a failed apiserver call: the apiserver's own (code, reason, message,
 * details) when it answered with one, 503 ServiceUnavailable when it could not be reached.
 */
export function apiFailureStatus(error: unknown, what: string): FailureStatus {
  const code = apiStatusOf(error);
  if (code === undefined) {
    return { code: 503, reason: "ServiceUnavailable", message: `Cannot ${what}: ${apiFailureText(error)}` };
  }
  const body = (error as { body?: unknown }).body;
  let parsed: Record<string, unknown> = {};
  if (typeof body === "string") {
    try {
      const value: unknown = JSON.parse(body);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        parsed = value as Record<string, unknown>;
      }
    } catch {
      // Not a Status: the text below says what the apiserver answered.
    }
  }
  const details = parsed.details;
  return {
    code,
    reason: typeof parsed.reason === "string" ? parsed.reason : code >= 500 ? "InternalError" : "BadRequest",
    message: `Cannot ${what}: ${apiFailureText(error)}`,
    ...(typeof details === "object" && details !== null && !Array.isArray(details)
      ? { details: details as Record<string, unknown> }
      : {}),
  };
}

export { apiStatusOf };
