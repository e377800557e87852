/**
 * Service-account tokens for the edge's pods (`query <ns>/serviceaccounttoken/<sa>`, content a
 * TokenRequest), as a kubelet gets them: a TokenRequest to the apiserver, bound to the pod. Authorization
 * has already checked that the token is bound to a pod of this node that runs as that service account.
 * The reply is the TokenRequest with its status (upstream's query reply: the object itself).
 */
import type { AuthenticationV1TokenRequest } from "@kubernetes/client-node";
import type { Message } from "../../lib/protocol/mod.ts";
import { RAW, rawBody } from "./api_calls.ts";
import { contentObject, EdgeRequestError, isPlainObject, type RequestDeps } from "./edge_request.ts";
import { queryResponse } from "./replies.ts";

const TOKEN_REQUEST = { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest" } as const;

export interface TokenRequestSpec {
  readonly audiences?: readonly string[];
  readonly expirationSeconds?: number;
  readonly boundObjectRef?: {
    readonly kind?: string;
    readonly apiVersion?: string;
    readonly name?: string;
    readonly uid?: string;
  };
}

/** The spec of the TokenRequest an edge sends; anything else in it (status, metadata) is not passed on. */
export function readTokenRequestSpec(content: unknown): TokenRequestSpec {
  const body = contentObject(content, "token request");
  if (!isPlainObject(body.spec)) throw new EdgeRequestError("Cannot read the token request: it has no spec");
  return body.spec as TokenRequestSpec;
}

export async function requestServiceAccountToken(
  deps: RequestDeps,
  namespace: string,
  serviceAccount: string,
  request: Message,
): Promise<Message> {
  const spec = readTokenRequestSpec(request.content);
  const body = { ...TOKEN_REQUEST, spec } as AuthenticationV1TokenRequest;
  const granted = await rawBody<AuthenticationV1TokenRequest>(
    await deps.core.createNamespacedServiceAccountTokenWithHttpInfo(
      { name: serviceAccount, namespace, body },
      RAW,
    ),
  );
  return queryResponse(request, { ...TOKEN_REQUEST, ...granted });
}
