// ServiceAccount tokens for projected serviceAccountToken volume sources, as kubelet's
// token manager (pkg/kubelet/token/token_manager.go): one cached token per pod, account,
// audience and lifetime, asked of the server (requestToken on the agent's WebSocket) and
// asked again once 80 % of its life has passed or it is older than 24 h. When the server
// cannot be reached a token still valid is kept.
import type { ObjectReply, RequestToken } from '../../proto/agent-protocol.js';

export type TokenFetcher = (r: Omit<RequestToken, 'type' | 'id'>) => Promise<Pick<ObjectReply, 'object' | 'error'>>;

export interface TokenSpec {
  namespace: string;
  serviceAccountName: string;
  podName: string;
  podUid: string;
  audience?: string;
  expirationSeconds: number;
}

interface Entry { token: string; issuedAt: number; expiresAt: number }

const MAX_TTL_MS = 24 * 3600_000;
/** a token whose life is this far gone is renewed (kubelet: 80 %) */
const REFRESH_FRACTION = 0.8;

export function tokenKey(s: TokenSpec): string {
  return `${s.namespace}/${s.serviceAccountName}/${s.podName}/${s.podUid}/${s.audience ?? ''}/${s.expirationSeconds}`;
}

export class TokenManager {
  private cache = new Map<string, Entry>();
  private inflight = new Map<string, Promise<string>>();

  constructor(private readonly fetch: TokenFetcher, private readonly now: () => number = Date.now) {}

  /** token_manager.go's requiresRefresh */
  requiresRefresh(e: Entry): boolean {
    const now = this.now();
    if (now >= e.expiresAt) return true;
    if (now - e.issuedAt > MAX_TTL_MS) return true;
    return now - e.issuedAt >= REFRESH_FRACTION * (e.expiresAt - e.issuedAt);
  }

  /** when the cached token for `s` is due for renewal (undefined: none cached) */
  refreshAt(s: TokenSpec): number | undefined {
    const e = this.cache.get(tokenKey(s));
    if (!e) return undefined;
    return Math.min(e.issuedAt + REFRESH_FRACTION * (e.expiresAt - e.issuedAt), e.issuedAt + MAX_TTL_MS);
  }

  async get(s: TokenSpec): Promise<string> {
    const key = tokenKey(s);
    const e = this.cache.get(key);
    if (e && !this.requiresRefresh(e)) return e.token;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(key, s, e).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async load(key: string, s: TokenSpec, old: Entry | undefined): Promise<string> {
    const issuedAt = this.now();
    let reply: Pick<ObjectReply, 'object' | 'error'>;
    try {
      reply = await this.fetch({
        namespace: s.namespace, serviceAccountName: s.serviceAccountName, podName: s.podName, podUid: s.podUid,
        ...(s.audience ? { audiences: [s.audience] } : {}), expirationSeconds: s.expirationSeconds,
      });
    } catch (err) {
      // the server is away: a token that has not expired yet still does
      if (old && this.now() < old.expiresAt) return old.token;
      throw new Error(`failed to fetch token: ${(err as Error).message}`);
    }
    if (reply.error) throw new Error(`failed to fetch token: ${reply.error.message}`);
    const status = (reply.object as { status?: { token?: unknown; expirationTimestamp?: unknown } } | undefined)?.status;
    const token = status?.token;
    const exp = typeof status?.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
    if (typeof token !== 'string' || !token || Number.isNaN(exp)) throw new Error('failed to fetch token: the server sent no token');
    this.cache.set(key, { token, issuedAt, expiresAt: exp });
    return token;
  }

  /** forget the tokens of a pod that is gone (token_manager.go's DeleteServiceAccountToken) */
  forgetPod(podUid: string): void {
    for (const k of this.cache.keys()) if (k.split('/')[3] === podUid) this.cache.delete(k);
  }
}
