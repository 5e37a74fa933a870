// Bearer-token authentication at the API edge. Users present the admin token from
// admin.kubeconfig; agents authenticate on their WebSocket (controlplane/agents).
// Health and version endpoints stay open, as kube-apiserver's anonymous defaults allow.
import type { FastifyRequest } from 'fastify';
import { secretEquals } from '../security/pki.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

export const PUBLIC_PATHS = new Set(['/healthz', '/readyz', '/livez', '/version', '/cacerts']);

export class TokenAuthenticator {
  private tokens: { token: string; user: UserInfo }[] = [];

  add(token: string, user: UserInfo): void {
    this.tokens.push({ token, user });
  }

  authenticate(req: Pick<FastifyRequest, 'headers'>): UserInfo | undefined {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return undefined;
    for (const t of this.tokens) if (secretEquals(t.token, m[1]!)) return t.user;
    return undefined;
  }
}

export function isPublicPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return PUBLIC_PATHS.has(path) || path.startsWith('/healthz/') || path.startsWith('/readyz/') || path.startsWith('/livez/');
}
