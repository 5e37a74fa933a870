// TokenReview (authentication.k8s.io/v1, create only, never stored), as kube-apiserver's
// pkg/registry/authentication/tokenreview/storage.go: spec.token goes through the server's
// bearer-token chain with spec.audiences (else the API's audiences) as the requested
// audiences. ServiceAccount JWTs are checked against them (controlplane/serviceaccount/
// tokens.ts review()); the other tokens (admin, --token-auth-file) are audience-agnostic
// (WrapAudienceAgnosticToken): valid only when the requested audiences meet the API's.
// The whole chain adds system:authenticated (group.NewAuthenticatedGroupAdder).
import type { FastifyInstance } from 'fastify';
import type { TokenAuthenticator, UserInfo } from '../api/auth.js';
import { badRequest } from '../api/errors.js';
import type { ResourceDef } from '../resources/types.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';
import { withAuthenticatedGroup } from './authorizer.js';
import { bodyOf } from './http.js';

const GROUP = 'authentication.k8s.io';
/** bearertoken.go's error when no authenticator recognised the token */
export const INVALID_TOKEN = 'invalid bearer token';

export const TOKEN_REVIEW_RESOURCE: ResourceDef = {
  group: GROUP,
  version: 'v1',
  kind: 'TokenReview',
  resource: 'tokenreviews',
  singular: '',
  namespaced: false,
  shortNames: [],
  categories: [],
  verbs: ['create'],
  subresources: [],
  hasStatusSubresource: false,
  hasGeneration: false,
  schema: 'TokenReview',
  validate: () => [],
  columns: [],
  row: () => [],
};

export interface TokenReviewDeps {
  auth: Pick<TokenAuthenticator, 'authenticate'>;
  serviceAccounts?: Pick<ServiceAccountTokens, 'review' | 'audiences'>;
}

export interface TokenReviewStatus {
  authenticated: boolean;
  user?: UserInfo;
  audiences?: string[];
  error?: string;
}

/** the status of a review of `token` for `specAudiences` (empty: the API's audiences) */
export function reviewToken(deps: TokenReviewDeps, token: string, specAudiences: string[]): TokenReviewStatus {
  const apiAuds = deps.serviceAccounts?.audiences ?? [];
  const requested = specAudiences.length ? specAudiences : apiAuds;
  const sa = deps.serviceAccounts?.review(token, requested);
  if (sa && 'user' in sa)
    return { authenticated: true, user: withAuthenticatedGroup(sa.user), audiences: sa.audiences };
  if (sa) return { authenticated: false, error: sa.error };
  const user = deps.auth.authenticate({ headers: { authorization: `Bearer ${token}` } });
  if (!user) return { authenticated: false, error: INVALID_TOKEN };
  // audience-agnostic: the API's audiences among the requested ones
  const audiences = requested.length && apiAuds.length ? apiAuds.filter((a) => requested.includes(a)) : [];
  if (requested.length && apiAuds.length && !audiences.length) return { authenticated: false, error: INVALID_TOKEN };
  return { authenticated: true, user: withAuthenticatedGroup(user), ...(audiences.length ? { audiences } : {}) };
}

/** authenticationv1.TokenReviewStatus as JSON (omitempty fields left out) */
export function statusJson(s: TokenReviewStatus): Record<string, unknown> {
  const o: Record<string, unknown> = { authenticated: s.authenticated };
  if (s.user) {
    const u: Record<string, unknown> = { username: s.user.name };
    if (s.user.uid) u.uid = s.user.uid;
    if (s.user.groups.length) u.groups = s.user.groups;
    if (s.user.extra && Object.keys(s.user.extra).length) u.extra = s.user.extra;
    o.user = u;
  }
  if (s.audiences?.length) o.audiences = s.audiences;
  if (s.error) o.error = s.error;
  return o;
}

export function registerTokenReviewRoutes(app: FastifyInstance, deps: TokenReviewDeps): void {
  app.post(`/apis/${GROUP}/v1/tokenreviews`, async (req, reply) => {
    const body = bodyOf(req, 'TokenReview');
    const spec = body.spec ?? {};
    const token = typeof spec.token === 'string' ? spec.token : '';
    if (!token) throw badRequest('token is required for TokenReview in authentication');
    const auds = Array.isArray(spec.audiences)
      ? spec.audiences.filter((a: unknown): a is string => typeof a === 'string')
      : [];
    reply.code(201);
    return {
      kind: 'TokenReview',
      apiVersion: `${GROUP}/v1`,
      metadata: { ...(body.metadata ?? {}), creationTimestamp: null },
      spec,
      status: statusJson(reviewToken(deps, token, auds)),
    };
  });
}
