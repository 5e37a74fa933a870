// Authentication at the API edge: one chain in kube-apiserver's union order
// (pkg/kubeapiserver/authenticator/config.go) — first the X.509 client certificate the
// TLS handshake verified against the client CA (CN = user, O = groups; x509.NewDynamic
// with CommonNameUserConversion), then bearer tokens: static ones (the admin token from
// admin.kubeconfig, --token-auth-file), then the token authenticators added with use()
// (ServiceAccount JWTs: controlplane/serviceaccount/tokens.ts). The first that
// recognises the request wins; a certificate that does not verify (foreign CA, expired)
// authenticates nobody and the next link is tried. Agents authenticate on their
// WebSocket (controlplane/agents). Health and version endpoints stay open, as
// kube-apiserver's anonymous defaults allow, and so do the dashboard's static files
// (api/dashboard.ts). A browser cannot set Authorization on a WebSocket: as
// kube-apiserver's websocket protocol authenticator, an upgrade may carry its bearer
// token as the subprotocol base64url.bearer.authorization.k8s.io.<base64url token>.
import type { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { TLSSocket, PeerCertificate } from 'node:tls';
import { secretEquals } from '../security/pki.js';
import { isDashboardPath } from './dashboard.js';

/** user.Info: `name` is Kubernetes' username */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** one link of the chain: the user a bearer token stands for, or undefined (not mine / invalid) */
export type BearerAuthenticator = (token: string) => UserInfo | undefined;

/** what authenticate() reads: the headers and, for certificates, the TLS socket (fastify's req.raw.socket, or an upgrade's req.socket) */
export interface AuthRequest {
  headers: FastifyRequest['headers'];
  raw?: { socket?: unknown };
  socket?: unknown;
}

const CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

interface PeerUser {
  user: UserInfo | undefined;
  notBefore: number;
  notAfter: number;
}
const peerUsers = new WeakMap<object, PeerUser>();

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The user of a TLS connection's client certificate, when the handshake verified it
 * against the client CA (the server requests, never requires one: rejectUnauthorized is
 * false, so `authorized` tells). Validity is checked per request, as Go's Verify does
 * with the current time; a certificate without a CN is nobody. As CommonNameUserConversion
 * (1.32), extra carries the credential id `X509SHA256=<sha256 of the DER>`.
 */
export function certificateUser(socket: unknown): UserInfo | undefined {
  if (!socket || typeof socket !== 'object') return undefined;
  const tls = socket as Partial<TLSSocket>;
  if (tls.encrypted !== true || tls.authorized !== true || typeof tls.getPeerCertificate !== 'function')
    return undefined;
  let p = peerUsers.get(socket);
  if (!p) {
    const c: PeerCertificate = tls.getPeerCertificate();
    const cn = asList(c?.subject?.CN);
    const name = cn.length ? cn[cn.length - 1]! : '';
    const id = c?.raw ? `X509SHA256=${createHash('sha256').update(c.raw).digest('hex')}` : undefined;
    p = {
      user: name
        ? { name, groups: asList(c.subject.O), ...(id ? { extra: { [CREDENTIAL_ID]: [id] } } : {}) }
        : undefined,
      notBefore: Date.parse(c?.valid_from ?? ''),
      notAfter: Date.parse(c?.valid_to ?? ''),
    };
    peerUsers.set(socket, p);
  }
  const now = Date.now();
  if (!p.user || !(now >= p.notBefore && now <= p.notAfter)) return undefined;
  return {
    name: p.user.name,
    groups: [...p.user.groups],
    ...(p.user.extra ? { extra: structuredClone(p.user.extra) } : {}),
  };
}

export const WEBSOCKET_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/**
 * The bearer token a WebSocket upgrade carries as a subprotocol (apiserver's
 * authentication/request/websocket ProtocolAuthenticator): only on a websocket upgrade;
 * one such protocol at most, its rest unpadded base64url of a UTF-8 token, and at least
 * one other protocol beside it (the one the server answers with). `protocols` are the
 * offered ones without it. Undefined when the request carries none.
 */
export function websocketProtocolToken(
  headers: AuthRequest['headers'],
): { token: string; protocols: string[] } | { error: string } | undefined {
  if (String(headers.upgrade ?? '').toLowerCase() !== 'websocket') return undefined;
  if (!/\bupgrade\b/i.test(String(headers.connection ?? ''))) return undefined;
  const raw = headers['sec-websocket-protocol'];
  const offered = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((v) => v.split(','))
    .map((p) => p.trim());
  let token: string | undefined;
  const protocols: string[] = [];
  for (const p of offered) {
    if (!p.startsWith(WEBSOCKET_BEARER_PREFIX)) {
      protocols.push(p);
      continue;
    }
    if (token !== undefined) return { error: 'multiple base64.bearer.authorization tokens specified' };
    const enc = p.slice(WEBSOCKET_BEARER_PREFIX.length);
    // Go's base64.RawURLEncoding: the URL alphabet, no padding, no dangling 6 bits
    if (!/^[A-Za-z0-9_-]*$/.test(enc) || enc.length % 4 === 1)
      return { error: 'invalid base64.bearer.authorization token encoding' };
    const bytes = Buffer.from(enc, 'base64url');
    const text = bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bytes)) return { error: 'invalid base64.bearer.authorization token' };
    token = text;
  }
  if (!token) return undefined;
  if (!protocols.length) return { error: 'missing additional subprotocol' };
  return { token, protocols };
}

/** the users of upgrade requests whose subprotocol token authenticated them (by their headers object) */
const protocolUsers = new WeakMap<object, UserInfo>();

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

  authenticate(req: AuthRequest): UserInfo | undefined {
    const cert = certificateUser(req.raw?.socket ?? req.socket);
    if (cert) return cert;
    const h = req.headers.authorization;
    if (typeof h === 'string') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      return m ? this.bearer(m[1]!) : undefined;
    }
    // an upgrade authenticated by its subprotocol before (the guard, then the handler)
    const seen = protocolUsers.get(req.headers);
    if (seen) return seen;
    const ws = websocketProtocolToken(req.headers);
    if (!ws || !('token' in ws)) return undefined;
    const user = this.bearer(ws.token);
    if (user) {
      // as kube-apiserver: the token's protocol is removed once it has authenticated
      req.headers['sec-websocket-protocol'] = ws.protocols.join(', ');
      protocolUsers.set(req.headers, user);
    }
    return user;
  }

  private bearer(token: string): UserInfo | undefined {
    for (const t of this.tokens) if (secretEquals(t.token, token)) return t.user;
    for (const a of this.chain) {
      const u = a(token);
      if (u) return u;
    }
    return undefined;
  }
}

export function isPublicPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return (
    PUBLIC_PATHS.has(path) ||
    isDashboardPath(path) ||
    path.startsWith('/healthz/') ||
    path.startsWith('/readyz/') ||
    path.startsWith('/livez/')
  );
}
