// TokenReview and APIService with real kubectl against a real skiff-server (no agent):
// `kubectl create token` then `kubectl create -f tokenreview.json -o json` (with and
// without spec.audiences, and a bad token), and `kubectl get apiservices` printing the
// local group-versions as NAME SERVICE AVAILABLE AGE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();

const review = (token: string, audiences?: string[]) =>
  JSON.stringify({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token, ...(audiences ? { audiences } : {}) },
  });

describe.skipIf(!haveKubectl)('TokenReview and APIService (kubectl)', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  it('reviews a ServiceAccount token, one for another audience and a bad one', () => {
    k(s, ['create', 'serviceaccount', 'reviewer', '-n', 'default']);
    const token = k(s, ['create', 'token', 'reviewer', '-n', 'default']).trim();
    const ok = JSON.parse(k(s, ['create', '-f', '-', '-o', 'json'], review(token)));
    expect(ok.kind).toBe('TokenReview');
    expect(ok.status).toMatchObject({
      authenticated: true,
      user: {
        username: 'system:serviceaccount:default:reviewer',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
      },
    });
    expect(ok.status.audiences).toHaveLength(1);

    const vault = k(s, ['create', 'token', 'reviewer', '-n', 'default', '--audience', 'vault']).trim();
    const forVault = JSON.parse(k(s, ['create', '-f', '-', '-o', 'json'], review(vault, ['vault'])));
    expect(forVault.status).toMatchObject({ authenticated: true, audiences: ['vault'] });
    const notForApi = JSON.parse(k(s, ['create', '-f', '-', '-o', 'json'], review(vault)));
    expect(notForApi.status.authenticated).toBe(false);
    expect(notForApi.status.error).toMatch(/^token audiences \["vault"\] is invalid for the target audiences/);

    const bad = JSON.parse(k(s, ['create', '-f', '-', '-o', 'json'], review('garbage')));
    expect(bad.status).toEqual({ authenticated: false, error: 'invalid bearer token' });
    const empty = kubectl(s, ['create', '-f', '-', '-o', 'json'], { input: review('') });
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain('token is required for TokenReview in authentication');
  });

  it('kubectl get apiservices lists the local group-versions', () => {
    const out = k(s, ['get', 'apiservices']);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+SERVICE\s+AVAILABLE\s+AGE$/);
    for (const n of ['v1', 'v1.apps', 'v1.rbac.authorization.k8s.io', 'v1.apiregistration.k8s.io'])
      expect(out).toMatch(new RegExp(`^${n.replace(/\./g, '\\.')}\\s+Local\\s+True\\s+`, 'm'));
    const one = JSON.parse(k(s, ['get', 'apiservice', 'v1.apps', '-o', 'json']));
    expect(one.spec).toEqual({ group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 });
    const del = kubectl(s, ['delete', 'apiservice', 'v1.apps']);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain('MethodNotAllowed');
  });
});
