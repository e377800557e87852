// May this Kubernetes bearer token have a join token? Asked of the apiserver with cloudcore's credentials: a
// TokenReview says who it is, a SubjectAccessReview whether they may `get` secret kubeedge/tokensecret.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { KUBEEDGE_NAMESPACE, TOKEN_SECRET } from "../certs/mod.ts";

/** Longest bearer token sent on to the apiserver; ServiceAccount JWTs are about 1 KiB. */
export const MAX_BEARER_BYTES = 16 * 1024;

export type Review =
  | { readonly verdict: "allowed"; readonly username: string }
  | { readonly verdict: "unauthenticated"; readonly reason: string }
  | { readonly verdict: "forbidden"; readonly username: string; readonly reason: string };

export async function reviewBearer(kc: KubeConfig, bearer: string): Promise<Review> {
  if (bearer.length === 0 || bearer.length > MAX_BEARER_BYTES) {
    return { verdict: "unauthenticated", reason: "empty or oversize token" };
  }
  const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: bearer } },
  });
  const user = review.status?.user;
  if (!review.status?.authenticated || !user?.username) {
    return { verdict: "unauthenticated", reason: review.status?.error ?? "token not authenticated" };
  }
  const access = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: user.username,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.groups ? { groups: user.groups } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: {
          namespace: KUBEEDGE_NAMESPACE,
          verb: "get",
          group: "",
          resource: "secrets",
          name: TOKEN_SECRET,
        },
      },
    },
  });
  if (access.status?.allowed !== true) {
    return {
      verdict: "forbidden",
      username: user.username,
      reason: access.status?.reason || `cannot get secret ${KUBEEDGE_NAMESPACE}/${TOKEN_SECRET}`,
    };
  }
  return { verdict: "allowed", username: user.username };
}
