// ServiceAccount tokens (pkg/serviceaccount/claims.go, legacy.go): issuing bound tokens
// (TokenRequest, the agent's projected volumes) and legacy Secret tokens, and the
// authenticator that turns a token back into a user — rejected once the ServiceAccount,
// or the Pod/Secret/Node it is bound to, is gone or has another uid.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../proto/meta.js';
import type { UserInfo } from '../api/auth.js';
import { DEFAULT_ISSUER, jwks, looksLikeJwt, openIdConfiguration, signJwt, verifyJwt, type SigningKey } from './jwt.js';

export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
export const SA_PREFIX = 'system:serviceaccount:';
export const ALL_SA_GROUP = 'system:serviceaccounts';
export const AUTHENTICATED = 'system:authenticated';
/** pods with a deletionTimestamp older than this no longer authenticate (claims.go) */
const POD_DELETION_GRACE_S = 60;
/** tokens whose signature was checked, remembered (oldest dropped first) */
const VERIFIED_CACHE_SIZE = 2048;
/** go-jose's DefaultLeeway, which claims.go's Validate uses */
const LEEWAY_S = 60;

export type BoundKind = 'Pod' | 'Secret' | 'Node';
export interface BoundRef {
  kind: BoundKind;
  name: string;
  uid: string;
}

/** the objects a token may name, read synchronously (informer caches) */
export interface ObjectLookup {
  get(kind: 'ServiceAccount' | BoundKind, namespace: string | undefined, name: string): KubeObject | undefined;
}

export interface ServiceAccountTokenOptions {
  keys: SigningKey[];
  issuer?: string;
  /** --api-audiences; default [issuer] */
  audiences?: string[];
  lookup: ObjectLookup;
  now?: () => Date;
}

/** Go's %q of a []string: ["a" "b"] */
const goQuoted = (l: string[]): string => `[${l.map((a) => JSON.stringify(a)).join(' ')}]`;

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SA_PREFIX}${namespace}:${name}`;
}

export function serviceAccountUser(
  namespace: string,
  name: string,
  uid?: string,
  extra?: Record<string, string[]>,
): UserInfo {
  const u: UserInfo = {
    name: serviceAccountUsername(namespace, name),
    groups: [ALL_SA_GROUP, `${ALL_SA_GROUP}:${namespace}`, AUTHENTICATED],
  };
  if (uid) u.uid = uid;
  if (extra && Object.keys(extra).length) u.extra = extra;
  return u;
}

interface PrivateClaims {
  namespace?: string;
  serviceaccount?: { name?: string; uid?: string };
  pod?: { name?: string; uid?: string };
  secret?: { name?: string; uid?: string };
  node?: { name?: string; uid?: string };
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly audiences: string[];
  private readonly now: () => Date;

  constructor(private readonly o: ServiceAccountTokenOptions) {
    this.issuer = o.issuer ?? DEFAULT_ISSUER;
    this.audiences = o.audiences?.length ? o.audiences : [this.issuer];
    this.now = o.now ?? (() => new Date());
  }

  /** a bound token (claims.go's Claims) */
  issue(
    sa: KubeObject,
    opts: { audiences?: string[]; expirationSeconds: number; bound?: BoundRef; node?: { name: string; uid: string } },
  ): { token: string; expirationTimestamp: Date } {
    const nowS = Math.floor(this.now().getTime() / 1000);
    const exp = nowS + opts.expirationSeconds;
    const ns = sa.metadata.namespace!;
    const priv: PrivateClaims & { [k: string]: unknown } = {
      namespace: ns,
      serviceaccount: { name: sa.metadata.name, uid: sa.metadata.uid },
    };
    const b = opts.bound;
    if (b?.kind === 'Pod') priv.pod = { name: b.name, uid: b.uid };
    if (b?.kind === 'Secret') priv.secret = { name: b.name, uid: b.uid };
    if (b?.kind === 'Node') priv.node = { name: b.name, uid: b.uid };
    else if (opts.node) priv.node = { name: opts.node.name, uid: opts.node.uid };
    const claims = {
      aud: opts.audiences?.length ? opts.audiences : this.audiences,
      exp,
      iat: nowS,
      nbf: nowS,
      iss: this.issuer,
      jti: randomUUID(),
      'kubernetes.io': priv,
      sub: serviceAccountUsername(ns, sa.metadata.name!),
    };
    return { token: signJwt(this.o.keys[0]!, claims), expirationTimestamp: new Date(exp * 1000) };
  }

  /** the token a kubernetes.io/service-account-token Secret holds (legacy.go) */
  issueLegacy(sa: KubeObject, secret: KubeObject): string {
    return signJwt(this.o.keys[0]!, {
      iss: LEGACY_ISSUER,
      'kubernetes.io/serviceaccount/namespace': sa.metadata.namespace,
      'kubernetes.io/serviceaccount/secret.name': secret.metadata.name,
      'kubernetes.io/serviceaccount/service-account.name': sa.metadata.name,
      'kubernetes.io/serviceaccount/service-account.uid': sa.metadata.uid,
      sub: serviceAccountUsername(sa.metadata.namespace!, sa.metadata.name!),
    });
  }

  /** the user a bearer token stands for, or undefined (not ours, bad, expired, invalidated) */
  authenticate(token: string): UserInfo | undefined {
    const r = this.review(token, this.audiences);
    return r && 'user' in r ? r.user : undefined;
  }

  /**
   * jwt.go's AuthenticateToken for `requested` audiences (TokenReview's spec.audiences, else
   * the API's): the user and the audiences the token is valid for among them, an error
   * when the token is one of ours but refused, undefined when it is not ours. Legacy tokens
   * carry no audience and stand for the API's (implicitAuds).
   */
  review(token: string, requested: string[]): { user: UserInfo; audiences: string[] } | { error: string } | undefined {
    if (!looksLikeJwt(token)) return undefined;
    const c = this.verified(token);
    if (!c) return undefined;
    if (c.iss !== this.issuer && c.iss !== LEGACY_ISSUER) return undefined;
    let tokenAuds =
      typeof c.aud === 'string'
        ? [c.aud]
        : Array.isArray(c.aud)
          ? c.aud.filter((a): a is string => typeof a === 'string')
          : [];
    if (!tokenAuds.length && c.iss === LEGACY_ISSUER) tokenAuds = this.audiences;
    const audiences = tokenAuds.filter((a) => requested.includes(a));
    if (!audiences.length)
      return {
        error: `token audiences ${goQuoted(tokenAuds)} is invalid for the target audiences ${goQuoted(requested)}`,
      };
    const user = c.iss === this.issuer ? this.validateBound(c) : this.validateLegacy(c, token);
    if (user) return { user, audiences };
    const expired = typeof c.exp === 'number' && this.now().getTime() / 1000 > c.exp + LEEWAY_S;
    return { error: expired ? 'service account token has expired' : 'service account token has been invalidated' };
  }

  /**
   * The signature check (an ECDSA verify, ~90 µs) is remembered per token; expiry, audience
   * and the bound objects are checked on every request all the same.
   */
  private readonly verifiedCache = new Map<string, Record<string, unknown>>();
  private verified(token: string): Record<string, unknown> | undefined {
    const hit = this.verifiedCache.get(token);
    if (hit) return hit;
    const c = verifyJwt(this.o.keys, token);
    if (!c) return undefined;
    if (this.verifiedCache.size >= VERIFIED_CACHE_SIZE)
      this.verifiedCache.delete(this.verifiedCache.keys().next().value!);
    this.verifiedCache.set(token, c);
    return c;
  }

  private validateBound(c: Record<string, unknown>): UserInfo | undefined {
    const nowS = this.now().getTime() / 1000;
    if (typeof c.exp !== 'number' || nowS > c.exp + LEEWAY_S) return undefined;
    if (typeof c.nbf === 'number' && nowS < c.nbf - LEEWAY_S) return undefined;
    if (typeof c.iat === 'number' && nowS < c.iat - LEEWAY_S) return undefined;
    const k = c['kubernetes.io'];
    if (!k || typeof k !== 'object') return undefined;
    const p = k as PrivateClaims;
    const ns = p.namespace;
    const saName = p.serviceaccount?.name;
    if (typeof ns !== 'string' || typeof saName !== 'string' || c.sub !== serviceAccountUsername(ns, saName))
      return undefined;
    const sa = this.live('ServiceAccount', ns, saName, p.serviceaccount?.uid);
    if (!sa) return undefined;
    const extra: Record<string, string[]> = {};
    if (p.pod) {
      const pod = this.live('Pod', ns, p.pod.name, p.pod.uid);
      if (!pod) return undefined;
      const del = pod.metadata.deletionTimestamp;
      if (del && Date.parse(del) / 1000 < nowS - POD_DELETION_GRACE_S) return undefined;
      extra['authentication.kubernetes.io/pod-name'] = [p.pod.name!];
      extra['authentication.kubernetes.io/pod-uid'] = [p.pod.uid!];
    }
    if (p.secret) {
      const s = this.live('Secret', ns, p.secret.name, p.secret.uid);
      if (!s || s.metadata.deletionTimestamp) return undefined;
    }
    if (p.node?.name) {
      // a node named only as where the pod runs is informational; a token bound to the node needs it alive
      if (!p.pod) {
        const n = this.live('Node', undefined, p.node.name, p.node.uid);
        if (!n) return undefined;
      }
      extra['authentication.kubernetes.io/node-name'] = [p.node.name];
      if (p.node.uid) extra['authentication.kubernetes.io/node-uid'] = [p.node.uid];
    }
    if (typeof c.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${c.jti}`];
    return serviceAccountUser(ns, saName, sa.metadata.uid, extra);
  }

  private validateLegacy(c: Record<string, unknown>, token: string): UserInfo | undefined {
    const ns = c['kubernetes.io/serviceaccount/namespace'];
    const secretName = c['kubernetes.io/serviceaccount/secret.name'];
    const saName = c['kubernetes.io/serviceaccount/service-account.name'];
    const saUid = c['kubernetes.io/serviceaccount/service-account.uid'];
    if (
      typeof ns !== 'string' ||
      typeof secretName !== 'string' ||
      typeof saName !== 'string' ||
      typeof saUid !== 'string'
    )
      return undefined;
    if (c.sub !== serviceAccountUsername(ns, saName)) return undefined;
    const sa = this.live('ServiceAccount', ns, saName, saUid);
    if (!sa) return undefined;
    const secret = this.live('Secret', ns, secretName, undefined);
    if (!secret || secret.metadata.deletionTimestamp) return undefined;
    // legacy.go: the token must still be the one the Secret holds
    const data = secret.data as Record<string, string> | undefined;
    if (secret.metadata.annotations?.['kubernetes.io/service-account.uid'] !== saUid || !data?.token) return undefined;
    if (Buffer.from(data.token, 'base64').toString('utf8') !== token) return undefined;
    return serviceAccountUser(ns, saName, saUid, {
      'authentication.kubernetes.io/credential-id': [`LegacyServiceAccountToken=${secret.metadata.uid}`],
    });
  }

  private live(
    kind: 'ServiceAccount' | BoundKind,
    ns: string | undefined,
    name: string | undefined,
    uid: string | undefined,
  ): KubeObject | undefined {
    if (!name) return undefined;
    const o = this.o.lookup.get(kind, ns, name);
    if (!o) return undefined;
    if (uid && o.metadata.uid !== uid) return undefined;
    if (kind === 'ServiceAccount' && o.metadata.deletionTimestamp) return undefined;
    return o;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return jwks(this.o.keys);
  }

  openIdConfiguration(apiUrl: string): Record<string, unknown> {
    return openIdConfiguration(this.issuer, `${apiUrl.replace(/\/$/, '')}/openid/v1/jwks`);
  }
}
