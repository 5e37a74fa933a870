// ServiceAccount tokens for projected serviceAccountToken volume sources, as kubelet's
// token manager (pkg/kubelet/token/token_manager.go): one cached token per pod, account,
// audience and lifetime, asked of the server (requestToken on the agent's WebSocket) and
// asked again once 80 % of its life has passed or it is older than 24 h (token-refresh.ts
// decides). When the server cannot be reached a token still valid is kept.
import type { ObjectReply, RequestToken } from '../../proto/agent-protocol.js';
import { MAX_JITTER_MS, expired, refreshAt, requiresRefresh, type IssuedToken } from './token-refresh.js';

export type TokenFetcher = (r: Omit<RequestToken, 'type' | 'id'>) => Promise<Pick<ObjectReply, 'object' | 'error'>>;

export interface TokenSpec {
  namespace: string;
  serviceAccountName: string;
  podName: string;
  podUid: string;
  audience?: string;
  expirationSeconds: number;
}

interface Entry extends IssuedToken {
  token: string;
}

export interface TokenManagerOptions {
  /** a number in [0, 1) for each token's jitter (default Math.random) */
  random?: () => number;
  /** tests only (--token-refresh-test-scale): renew this many times sooner than kubelet */
  refreshScale?: number;
}

export function tokenKey(s: TokenSpec): string {
  return `${s.namespace}/${s.serviceAccountName}/${s.podName}/${s.podUid}/${s.audience ?? ''}/${s.expirationSeconds}`;
}

export class TokenManager {
  private cache = new Map<string, Entry>();
  private inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly fetch: TokenFetcher,
    private readonly now: () => number = Date.now,
    private readonly o: TokenManagerOptions = {},
  ) {}

  /** when the cached token for `s` is due for renewal (undefined: none cached) */
  refreshAt(s: TokenSpec): number | undefined {
    const e = this.cache.get(tokenKey(s));
    return e && refreshAt(e, { scale: this.o.refreshScale });
  }

  async get(s: TokenSpec): Promise<string> {
    const key = tokenKey(s);
    const e = this.cache.get(key);
    if (e && !requiresRefresh(e, this.now(), { scale: this.o.refreshScale })) return e.token;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(key, s, e).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async load(key: string, s: TokenSpec, old: Entry | undefined): Promise<string> {
    let reply: Pick<ObjectReply, 'object' | 'error'>;
    try {
      reply = await this.fetch({
        namespace: s.namespace,
        serviceAccountName: s.serviceAccountName,
        podName: s.podName,
        podUid: s.podUid,
        ...(s.audience ? { audiences: [s.audience] } : {}),
        expirationSeconds: s.expirationSeconds,
      });
    } catch (err) {
      return this.failed(key, old, (err as Error).message);
    }
    if (reply.error) return this.failed(key, old, reply.error.message);
    const tr = reply.object as
      | { spec?: { expirationSeconds?: unknown }; status?: { token?: unknown; expirationTimestamp?: unknown } }
      | undefined;
    const token = tr?.status?.token;
    const exp = typeof tr?.status?.expirationTimestamp === 'string' ? Date.parse(tr.status.expirationTimestamp) : NaN;
    if (typeof token !== 'string' || !token || Number.isNaN(exp))
      return this.failed(key, old, 'the server sent no token');
    // the lifetime the server granted (it may shorten the one asked for)
    const life = tr?.spec?.expirationSeconds;
    const expirationSeconds = typeof life === 'number' && life > 0 ? life : s.expirationSeconds;
    this.cache.set(key, {
      token,
      expiresAt: exp,
      expirationSeconds,
      jitterMs: Math.floor((this.o.random ?? Math.random)() * MAX_JITTER_MS),
    });
    return token;
  }

  /** GetServiceAccountToken's error cases: none yet, expired, or keep the one still valid */
  private failed(key: string, old: Entry | undefined, why: string): string {
    if (!old) throw new Error(`failed to fetch token: ${why}`);
    if (expired(old, this.now())) throw new Error(`token ${key} expired and refresh failed: ${why}`);
    return old.token;
  }

  /** forget the tokens of a pod that is gone (token_manager.go's DeleteServiceAccountToken) */
  forgetPod(podUid: string): void {
    for (const k of this.cache.keys()) if (k.split('/')[3] === podUid) this.cache.delete(k);
  }
}
