// When a projected ServiceAccount token is renewed: kubelet's requiresRefresh
// (pkg/kubelet/token/token_manager.go), pure. The issue time is the expiry minus the
// lifetime the server granted (spec.expirationSeconds of its TokenRequest answer); a
// token is renewed once it is within 20 % of its life of expiring (integer seconds, as
// kubelet), once it is older than 24 h, or when the clock is before its issue time; a
// jitter of up to 10 s brings the moment forward so a node's pods do not all ask at once.
//
// `scale` exists for tests only (skiff-agent's hidden --token-refresh-test-scale): the
// 80 % / 24 h marks are reached `scale` times sooner than kubelet would. Kubernetes' shortest
// token lives 10 minutes, too long for an end-to-end test to wait for; expiry itself is never
// scaled (a token is used until it really expires).

export const MAX_TTL_MS = 24 * 3600_000;
export const MAX_JITTER_MS = 10_000;

export interface IssuedToken {
  /** status.expirationTimestamp, ms */
  expiresAt: number;
  /** spec.expirationSeconds the server answered with */
  expirationSeconds: number;
  /** this token's jitter, 0 ≤ jitterMs < MAX_JITTER_MS (kubelet draws one per check) */
  jitterMs: number;
}

export interface RefreshOptions {
  /** tests only: reach the refresh marks this many times sooner (default 1) */
  scale?: number;
}

/** when the token is due for renewal (ms); requiresRefresh is true after it */
export function refreshAt(t: IssuedToken, o: RefreshOptions = {}): number {
  const scale = o.scale && o.scale > 0 ? o.scale : 1;
  const iat = t.expiresAt - t.expirationSeconds * 1000;
  // kubelet: exp - (expirationSeconds*20)/100 s - jitter, i.e. after the first 80 %
  const eightyPercent = t.expirationSeconds * 1000 - Math.floor((t.expirationSeconds * 20) / 100) * 1000;
  return iat + (Math.min(eightyPercent, MAX_TTL_MS) - t.jitterMs) / scale;
}

/** token_manager.go's requiresRefresh */
export function requiresRefresh(t: IssuedToken, now: number, o: RefreshOptions = {}): boolean {
  const iat = t.expiresAt - t.expirationSeconds * 1000;
  // the clock went back past the issue time
  if (now < iat) return true;
  return now > refreshAt(t, o);
}

/** kubelet's expired(): past the expiry the server set (never scaled) */
export function expired(t: Pick<IssuedToken, 'expiresAt'>, now: number): boolean {
  return now > t.expiresAt;
}
