// Checking a proxy's projected ServiceAccount token with the apiserver (TokenReview), bound to our
// audience: the apiserver also checks that the pod it was issued for still exists.
import { errorMessage } from '../../shared/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { TOKEN_AUDIENCE } from './identity.ts';

export interface ServiceAccountIdentity {
  namespace: string;
  name: string;
  /** The pod the token is bound to, when the apiserver says. */
  pod?: string | undefined;
}

/** A token the apiserver did not accept, or one that is not a ServiceAccount's. */
export class TokenRejected extends Error {}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[]> };
}

/** Who a token belongs to, per the apiserver; TokenRejected when it does not vouch for it. */
export async function reviewToken(client: KubeClient, token: string, audience = TOKEN_AUDIENCE): Promise<ServiceAccountIdentity> {
  let status: TokenReviewStatus | undefined;
  try {
    const review = await client.request<{ status?: TokenReviewStatus }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
    });
    status = review.status;
  } catch (error) {
    // The apiserver is unreachable or RBAC lacks tokenreviews create: not the caller's fault.
    throw new Error(`TokenReview failed (the control plane needs create on tokenreviews): ${errorMessage(error)}`);
  }
  if (!status?.authenticated) throw new TokenRejected(`the token was not accepted${status?.error ? `: ${status.error}` : ''}`);
  if (!(status.audiences ?? []).includes(audience)) throw new TokenRejected(`the token is not for audience ${audience}`);
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? '');
  if (!match) throw new TokenRejected(`the token is not a ServiceAccount's (${status.user?.username ?? 'no user'})`);
  return { namespace: match[1]!, name: match[2]!, pod: status.user?.extra?.['authentication.kubernetes.io/pod-name']?.[0] };
}
