// The agent's projected ServiceAccount tokens: the token manager renews at 80 % of a
// token's life (kubelet's rule) or after 24 h, shares concurrent requests, keeps a valid
// token while the server is away; the projected volume writes the token file.
import { describe, expect, it } from 'vitest';
import { TokenManager, type TokenFetcher } from '../../agent/pods/token-manager.js';
import { serviceAccountTokenKey, tokenReferences, volumePayload } from '../../agent/pods/volumes.js';
import type { KubeObject } from '../../proto/meta.js';

/** jitter 0: the refresh moments are exact */
const noJitter = { random: () => 0 };
const spec = { namespace: 'demo', serviceAccountName: 'app', podName: 'p', podUid: 'u1', expirationSeconds: 3600 };

function fake(now: () => number) {
  const calls: Parameters<TokenFetcher>[0][] = [];
  let fail = false;
  const fetch: TokenFetcher = async (r) => {
    calls.push(r);
    if (fail) throw new Error('not connected to the server');
    return {
      object: {
        metadata: { name: 'app', uid: '' },
        status: {
          token: `tok${calls.length}`,
          expirationTimestamp: new Date(now() + r.expirationSeconds * 1000).toISOString(),
        },
      } as never,
    };
  };
  return {
    fetch,
    calls,
    setFail: (f: boolean) => {
      fail = f;
    },
  };
}

describe('token manager', () => {
  it('renews once 80 % of the life has passed, not before', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const f = fake(() => t);
    const tm = new TokenManager(f.fetch, () => t, noJitter);
    expect(await tm.get(spec)).toBe('tok1');
    expect(f.calls[0]).toEqual({
      namespace: 'demo',
      serviceAccountName: 'app',
      podName: 'p',
      podUid: 'u1',
      expirationSeconds: 3600,
    });
    expect(tm.refreshAt(spec)).toBe(t + 2880_000);
    t += 2879_000;
    expect(await tm.get(spec)).toBe('tok1');
    t += 2000;
    expect(await tm.get(spec)).toBe('tok2');
    expect(f.calls).toHaveLength(2);
  });

  it('renews a long-lived token after 24 h; passes the audience', async () => {
    let t = 0;
    const f = fake(() => t);
    const tm = new TokenManager(f.fetch, () => t, noJitter);
    const long = { ...spec, expirationSeconds: 7 * 86400, audience: 'vault' };
    await tm.get(long);
    expect(f.calls[0]!.audiences).toEqual(['vault']);
    t += 24 * 3600_000 + 1;
    expect(await tm.get(long)).toBe('tok2');
  });

  it('shares one request among concurrent readers; keeps a valid token while the server is away; forgets a pod', async () => {
    let t = 0;
    const f = fake(() => t);
    const tm = new TokenManager(f.fetch, () => t, noJitter);
    const [a, b] = await Promise.all([tm.get(spec), tm.get(spec)]);
    expect(a).toBe('tok1');
    expect(b).toBe('tok1');
    expect(f.calls).toHaveLength(1);
    t += 3000_000;
    f.setFail(true);
    expect(await tm.get(spec)).toBe('tok1');
    t += 700_000; // expired now
    await expect(tm.get(spec)).rejects.toThrow(
      /^token demo\/app\/p\/u1\/\/3600 expired and refresh failed: not connected to the server$/,
    );
    f.setFail(false);
    await tm.get(spec);
    tm.forgetPod('u1');
    expect(tm.refreshAt(spec)).toBeUndefined();
  });

  it("a refused request is an error (the node may not have that pod's token)", async () => {
    const tm = new TokenManager(async () => ({
      error: { code: 403, reason: 'Forbidden', message: 'no relationship found' },
    }));
    await expect(tm.get(spec)).rejects.toThrow('failed to fetch token: no relationship found');
  });
});

describe('projected serviceAccountToken volume', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'demo', uid: 'u1' },
    spec: {
      serviceAccountName: 'app',
      volumes: [
        {
          name: 'kube-api-access-abcde',
          projected: {
            defaultMode: 0o644,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              {
                downwardAPI: {
                  items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                },
              },
            ],
          },
        },
      ],
    },
  } as unknown as KubeObject;
  const ctx = { podIP: '', hostIP: '', nodeName: 'n1' };

  it('writes the token next to the other projections; a failed token is a mount error', () => {
    expect(tokenReferences(pod)).toEqual([{ expirationSeconds: 3607 }]);
    const v = pod.spec!.volumes[0];
    const tokens = new Map([[serviceAccountTokenKey({ expirationSeconds: 3607 }), 'jwt']]);
    const out = volumePayload(pod, v, { configMaps: new Map(), secrets: new Map(), tokens }, ctx);
    expect(out.token).toEqual({ data: 'jwt', mode: 0o644 });
    expect(out.namespace).toEqual({ data: 'demo', mode: 0o644 });
    const bad = new Map([
      [serviceAccountTokenKey({ expirationSeconds: 3607 }), new Error('failed to fetch token: refused')],
    ]);
    expect(() => volumePayload(pod, v, { configMaps: new Map(), secrets: new Map(), tokens: bad }, ctx)).toThrow(
      'failed to fetch token: refused',
    );
  });
});
