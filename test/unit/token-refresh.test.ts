// When the agent renews a projected ServiceAccount token (agent/pods/token-refresh.ts):
// kubelet's requiresRefresh as a table — within 20 % of the life granted by the server
// (integer seconds), older than 24 h, the clock before the issue time, jitter bringing the
// moment forward — and the test-only scale; then the token manager acting on it.
import { describe, expect, it } from 'vitest';
import {
  MAX_JITTER_MS,
  expired,
  refreshAt,
  requiresRefresh,
  type IssuedToken,
} from '../../agent/pods/token-refresh.js';
import { TokenManager, type TokenFetcher } from '../../agent/pods/token-manager.js';

const S = 1000;
const IAT = Date.parse('2026-01-01T00:00:00Z');
const tok = (expirationSeconds: number, jitterMs = 0): IssuedToken => ({
  expiresAt: IAT + expirationSeconds * S,
  expirationSeconds,
  jitterMs,
});

describe('refresh planner (kubelet requiresRefresh)', () => {
  const cases: { name: string; t: IssuedToken; at: number; scale?: number; due: boolean }[] = [
    { name: 'fresh token', t: tok(3600), at: IAT + 60 * S, due: false },
    { name: 'exactly at 80 % (kubelet: strictly after)', t: tok(3600), at: IAT + 2880 * S, due: false },
    { name: 'just past 80 %', t: tok(3600), at: IAT + 2880 * S + 1, due: true },
    // 3607 * 20 / 100 = 721 in integer seconds: due after 2886 s, not 2885.6
    { name: 'kube-api-access 3607 s: 20 % in whole seconds', t: tok(3607), at: IAT + 2886 * S, due: false },
    { name: 'kube-api-access 3607 s: past 2886 s', t: tok(3607), at: IAT + 2886 * S + 1, due: true },
    { name: 'minimum life 600 s at 479 s', t: tok(600), at: IAT + 479 * S, due: false },
    { name: 'minimum life 600 s at 481 s', t: tok(600), at: IAT + 481 * S, due: true },
    { name: 'jitter brings it forward', t: tok(3600, 9_000), at: IAT + 2872 * S, due: true },
    { name: 'jitter only up to its own size', t: tok(3600, 9_000), at: IAT + 2870 * S, due: false },
    { name: 'a week-long token at 23 h', t: tok(7 * 86400), at: IAT + 23 * 3600 * S, due: false },
    { name: 'a week-long token past 24 h', t: tok(7 * 86400), at: IAT + 24 * 3600 * S + 1, due: true },
    {
      name: 'a year-long token past 24 h minus jitter',
      t: tok(365 * 86400, 5_000),
      at: IAT + 24 * 3600 * S - 4_000,
      due: true,
    },
    { name: 'expired', t: tok(600), at: IAT + 601 * S, due: true },
    { name: 'clock before the issue time', t: tok(3600), at: IAT - 1, due: true },
    { name: 'test scale 300: 3607 s token after 9.62 s', t: tok(3607), at: IAT + 9_621, scale: 300, due: true },
    { name: 'test scale 300: not at 9.61 s', t: tok(3607), at: IAT + 9_610, scale: 300, due: false },
    { name: 'scale 0 or less means 1', t: tok(3600), at: IAT + 2000 * S, scale: 0, due: false },
  ];
  it.each(cases)('$name', ({ t, at, scale, due }) => {
    expect(requiresRefresh(t, at, { scale })).toBe(due);
  });

  it('refreshAt is the moment requiresRefresh turns true', () => {
    for (const t of [tok(600), tok(3607, 3_333), tok(86400 * 2), tok(1200, MAX_JITTER_MS - 1)]) {
      for (const scale of [1, 7, 300]) {
        const at = refreshAt(t, { scale });
        expect(requiresRefresh(t, at, { scale })).toBe(false);
        expect(requiresRefresh(t, at + 1, { scale })).toBe(true);
      }
    }
    expect(refreshAt(tok(3607))).toBe(IAT + 2886 * S);
    expect(refreshAt(tok(3607), { scale: 300 })).toBeCloseTo(IAT + (2886 * S) / 300, 6);
  });

  it('expiry is never scaled', () => {
    expect(expired(tok(600), IAT + 600 * S)).toBe(false);
    expect(expired(tok(600), IAT + 600 * S + 1)).toBe(true);
  });
});

describe('token manager over the planner', () => {
  const spec = { namespace: 'demo', serviceAccountName: 'app', podName: 'p', podUid: 'u1', expirationSeconds: 3607 };

  function server(now: () => number, opts: { grant?: number } = {}) {
    let n = 0;
    let refuse: string | undefined;
    const fetch: TokenFetcher = async (r) => {
      n++;
      if (refuse) return { error: { code: 403, reason: 'Forbidden', message: refuse } };
      const life = opts.grant ?? r.expirationSeconds;
      return {
        object: {
          metadata: { name: 'app', uid: '' },
          spec: { expirationSeconds: life },
          status: { token: `tok${n}`, expirationTimestamp: new Date(now() + life * 1000).toISOString() },
        } as never,
      };
    };
    return {
      fetch,
      calls: () => n,
      refuse: (why?: string) => {
        refuse = why;
      },
    };
  }

  it('plans from the lifetime the server granted, not the one asked for', async () => {
    let t = IAT;
    const srv = server(() => t, { grant: 600 });
    const tm = new TokenManager(srv.fetch, () => t, { random: () => 0 });
    await tm.get(spec);
    expect(tm.refreshAt(spec)).toBe(IAT + 480 * S);
    t += 481 * S;
    expect(await tm.get(spec)).toBe('tok2');
  });

  it('each token gets a jitter below 10 s', async () => {
    const t = IAT;
    const srv = server(() => t);
    const tm = new TokenManager(srv.fetch, () => t, { random: () => 0.5 });
    await tm.get(spec);
    expect(tm.refreshAt(spec)).toBe(IAT + 2886 * S - 5_000);
  });

  it('with the test scale, renews 300 times sooner; a refused renewal keeps the valid token', async () => {
    let t = IAT;
    const srv = server(() => t);
    const tm = new TokenManager(srv.fetch, () => t, { random: () => 0, refreshScale: 300 });
    expect(await tm.get(spec)).toBe('tok1');
    t += 9_000;
    expect(await tm.get(spec)).toBe('tok1');
    t += 1_000;
    expect(await tm.get(spec)).toBe('tok2');
    expect(srv.calls()).toBe(2);
    t += 10_000;
    srv.refuse('no relationship found');
    // kubelet: a refresh that fails while the old token is valid keeps the old one
    expect(await tm.get(spec)).toBe('tok2');
    t += 3607 * S;
    await expect(tm.get(spec)).rejects.toThrow('expired and refresh failed: no relationship found');
  });
});
