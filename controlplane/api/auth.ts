// Bearer-token authentication at the API edge: one chain (kube-apiserver's union
// authenticator) — static tokens first (the admin token from admin.kubeconfig,
// --token-auth-file), then the token authenticators added with use() (ServiceAccount
// JWTs: controlplane/serviceaccount/tokens.ts). Agents authenticate on their WebSocket
// (controlplane/agents). Health and version endpoints stay open, as kube-apiserver's
// anonymous defaults allow.
import type { FastifyRequest } from 'fastify';
import { secretEquals } from '../security/pki.js';

/** user.Info: `name` is Kubernetes' username */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** one link of the chain: the user a bearer token stands for, or undefined (not mine / invalid) */
export type BearerAuthenticator = (token: string) => UserInfo | undefined;

export const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/livez', '/version', '/cacerts']);

export class TokenAuthenticator {
  private tokens: { token: string; user: UserInfo }[] = [];
  private chain: BearerAuthenticator[] = [];

  /** append a token authenticator (tried after the static tokens, in order) */
  use(a: BearerAuthenticator): void {
    this.chain.push(a);
  }

  add(token: string, user: UserInfo): void {
    this.tokens.push({ token, user });
  }

  authenticate(req: Pick<FastifyRequest, 'headers'>): UserInfo | undefined {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return undefined;
    for (const t of this.tokens) if (secretEquals(t.token, m[1]!)) return t.user;
    for (const a of this.chain) {
      const u = a(m[1]!);
      if (u) return u;
    }
    return undefined;
  }
}

export function isPublicPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return PUBLIC_PATHS.has(path) || path.startsWith('/healthz/') || path.startsWith('/readyz/') || path.startsWith('/livez/');
}
