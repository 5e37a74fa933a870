// ServiceAccount identity in process: ES256 JWTs (sign/verify, kid, tampering), the
// authenticator (expiry, audience, bound Pod/Secret invalidation, legacy Secret tokens),
// TokenRequest through the API server (kubectl create token's body, validation, protobuf),
// the ServiceAccount admission on pod create, and the three controllers (default
// ServiceAccount, kube-root-ca.crt, legacy token Secrets).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as saController from '../../controlplane/controllers/service-account-controller.js';
import * as rootCa from '../../controlplane/controllers/root-ca-publisher.js';
import * as tokenController from '../../controlplane/controllers/token-controller.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import {
  generateSigningKey,
  jwks,
  loadOrCreateSigningKey,
  signJwt,
  verifyJwt,
} from '../../controlplane/serviceaccount/jwt.js';
import { InformerLookup } from '../../controlplane/serviceaccount/lookup.js';
import { ServiceAccountTokens } from '../../controlplane/serviceaccount/tokens.js';
import { installServiceAccountAdmission, TOKEN_MOUNT_PATH } from '../../controlplane/serviceaccount/admission.js';

const ADMIN = 'admin-token';

// a minimal protobuf writer for kubectl's TokenRequest body (the envelope k8s\0 + Unknown)
const varint = (n: number): number[] => {
  const o: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
};
const lField = (f: number, p: number[] | string): number[] => {
  const b = typeof p === 'string' ? [...Buffer.from(p)] : p;
  return [...varint((f << 3) | 2), ...varint(b.length), ...b];
};
const vField = (f: number, n: number): number[] => [...varint(f << 3), ...varint(n)];
const envelope = (apiVersion: string, kind: string, raw: number[]) =>
  Buffer.from([
    0x6b,
    0x38,
    0x73,
    0x00,
    ...lField(1, [...lField(1, apiVersion), ...lField(2, kind)]),
    ...lField(2, raw),
  ]);
const CA = '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n';

describe('JWT (ES256)', () => {
  it('signs and verifies; a changed payload, another key or alg none fail', () => {
    const k = generateSigningKey();
    const t = signJwt(k, { sub: 'x', n: 1 });
    expect(verifyJwt([k], t)).toEqual({ sub: 'x', n: 1 });
    const [h, , s] = t.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'y', n: 1 })).toString('base64url')}.${s}`;
    expect(verifyJwt([k], forged)).toBeUndefined();
    expect(verifyJwt([generateSigningKey()], t)).toBeUndefined();
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    expect(verifyJwt([k], none)).toBeUndefined();
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'ES256', kid: k.kid });
    expect(jwks([k]).keys[0]).toMatchObject({ kid: k.kid, kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });

  it('keeps one key in the data dir, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-key-'));
    const a = loadOrCreateSigningKey(dir);
    const b = loadOrCreateSigningKey(dir);
    expect(a.kid).toBe(b.kid);
    expect(statSync(join(dir, 'sa.key')).mode & 0o777).toBe(0o600);
  });
});

describe('ServiceAccount token authenticator', () => {
  const key = generateSigningKey();
  const objs = new Map<string, { metadata: Record<string, unknown>; [k: string]: unknown }>();
  const lookup = {
    get: (kind: string, ns: string | undefined, name: string) => objs.get(`${kind}/${ns ?? ''}/${name}`) as never,
  };
  let now = new Date('2026-01-01T00:00:00Z');
  const tokens = new ServiceAccountTokens({ keys: [key], lookup, now: () => now });
  const sa = { metadata: { name: 'app', namespace: 'demo', uid: 'sa-uid' } };
  objs.set('ServiceAccount/demo/app', sa);
  objs.set('Pod/demo/p', { metadata: { name: 'p', namespace: 'demo', uid: 'pod-uid' } });

  it("authenticates a bound token with Kubernetes' claims, user and groups", () => {
    const { token, expirationTimestamp } = tokens.issue(sa as never, {
      expirationSeconds: 3600,
      bound: { kind: 'Pod', name: 'p', uid: 'pod-uid' },
      node: { name: 'n1', uid: 'n-uid' },
    });
    expect(expirationTimestamp.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    const claims = verifyJwt([key], token)!;
    expect(claims).toMatchObject({
      iss: 'https://kubernetes.default.svc.cluster.local',
      aud: ['https://kubernetes.default.svc.cluster.local'],
      sub: 'system:serviceaccount:demo:app',
      exp: Date.parse('2026-01-01T01:00:00Z') / 1000,
      'kubernetes.io': {
        namespace: 'demo',
        pod: { name: 'p', uid: 'pod-uid' },
        serviceaccount: { name: 'app', uid: 'sa-uid' },
        node: { name: 'n1', uid: 'n-uid' },
      },
    });
    const u = tokens.authenticate(token)!;
    expect(u).toMatchObject({
      name: 'system:serviceaccount:demo:app',
      uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:demo', 'system:authenticated'],
    });
    expect(u.extra?.['authentication.kubernetes.io/pod-name']).toEqual(['p']);
  });

  it("honours expiry (with go-jose's one-minute leeway)", () => {
    const { token } = tokens.issue(sa as never, { expirationSeconds: 600 });
    now = new Date(Date.parse('2026-01-01T00:10:59Z'));
    expect(tokens.authenticate(token)).toBeDefined();
    now = new Date(Date.parse('2026-01-01T00:11:01Z'));
    expect(tokens.authenticate(token)).toBeUndefined();
    now = new Date('2026-01-01T00:00:00Z');
  });

  it('rejects a token for another audience, and one whose pod or account is gone or replaced', () => {
    expect(
      tokens.authenticate(tokens.issue(sa as never, { expirationSeconds: 600, audiences: ['vault'] }).token),
    ).toBeUndefined();
    const { token } = tokens.issue(sa as never, {
      expirationSeconds: 600,
      bound: { kind: 'Pod', name: 'p', uid: 'pod-uid' },
    });
    objs.set('Pod/demo/p', { metadata: { name: 'p', namespace: 'demo', uid: 'other-uid' } });
    expect(tokens.authenticate(token)).toBeUndefined();
    objs.delete('Pod/demo/p');
    expect(tokens.authenticate(token)).toBeUndefined();
    const plain = tokens.issue(sa as never, { expirationSeconds: 600 }).token;
    expect(tokens.authenticate(plain)).toBeDefined();
    objs.set('ServiceAccount/demo/app', { metadata: { name: 'app', namespace: 'demo', uid: 'new-uid' } });
    expect(tokens.authenticate(plain)).toBeUndefined();
    objs.set('ServiceAccount/demo/app', sa);
  });

  it('a token bound to a Secret or a Node dies with it', () => {
    objs.set('Secret/demo/s2', { metadata: { name: 's2', namespace: 'demo', uid: 's2-uid' } });
    objs.set('Node//n1', { metadata: { name: 'n1', uid: 'n1-uid' } });
    const bySecret = tokens.issue(sa as never, {
      expirationSeconds: 600,
      bound: { kind: 'Secret', name: 's2', uid: 's2-uid' },
    }).token;
    const byNode = tokens.issue(sa as never, {
      expirationSeconds: 600,
      bound: { kind: 'Node', name: 'n1', uid: 'n1-uid' },
    }).token;
    expect(tokens.authenticate(bySecret)).toBeDefined();
    expect(tokens.authenticate(byNode)?.extra?.['authentication.kubernetes.io/node-name']).toEqual(['n1']);
    objs.delete('Secret/demo/s2');
    objs.set('Node//n1', { metadata: { name: 'n1', uid: 'another' } });
    expect(tokens.authenticate(bySecret)).toBeUndefined();
    expect(tokens.authenticate(byNode)).toBeUndefined();
  });

  it('legacy Secret tokens are valid while the Secret holds them', () => {
    const secret = {
      metadata: {
        name: 's',
        namespace: 'demo',
        uid: 's-uid',
        annotations: { 'kubernetes.io/service-account.uid': 'sa-uid' },
      },
      data: {} as Record<string, string>,
    };
    const token = tokens.issueLegacy(sa as never, secret as never);
    objs.set('Secret/demo/s', secret);
    expect(tokens.authenticate(token)).toBeUndefined(); // not filled in yet
    secret.data.token = Buffer.from(token).toString('base64');
    expect(tokens.authenticate(token)?.name).toBe('system:serviceaccount:demo:app');
    objs.delete('Secret/demo/s');
    expect(tokens.authenticate(token)).toBeUndefined();
  });
});

describe('through the API server', () => {
  let app: FastifyInstance;
  let storage: ApiStorage;
  let lookup: InformerLookup;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
    lookup = new InformerLookup(storage);
    await lookup.start();
    const tokens = new ServiceAccountTokens({ keys: [generateSigningKey()], lookup });
    const auth = new TokenAuthenticator();
    auth.add(ADMIN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
    auth.use((t) => tokens.authenticate(t));
    const uninstall = installServiceAccountAdmission((ns, n) => lookup.get('ServiceAccount', ns, n));
    app = await buildApiServer({
      storage,
      auth,
      logger: false,
      serviceAccounts: { tokens, apiUrl: () => 'https://10.0.0.1:6443' },
    });
    const ctx = controllerContext(storage, pino({ level: 'silent' }));
    const cs = [saController.create(ctx), rootCa.create(ctx, CA), tokenController.create(ctx, tokens, CA)];
    for (const c of cs) await c.start();
    await ctx.informers.startAll();
    await req(ADMIN, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    stop = async () => {
      for (const c of cs) c.stop();
      ctx.informers.stopAll();
      uninstall();
      lookup.stop();
      await app.close();
      await store.close();
    };
  });
  afterAll(async () => stop());

  async function req(
    token: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const r = await app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      payload,
    });
    return { code: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
  }
  async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const tokenRequest = (spec: Record<string, unknown> = {}) => ({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { creationTimestamp: null },
    spec: { audiences: null, boundObjectRef: null, ...spec },
  });

  it('the controllers give every namespace a default ServiceAccount and kube-root-ca.crt, and put them back', async () => {
    await until(
      'default SA',
      async () => (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/serviceaccounts/default')).code === 200,
    );
    await until(
      'kube-root-ca.crt',
      async () => (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/configmaps/kube-root-ca.crt')).code === 200,
    );
    expect((await req(ADMIN, 'GET', '/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt')).body.data).toEqual({
      'ca.crt': CA,
    });
    const old = (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/serviceaccounts/default')).body.metadata.uid;
    expect((await req(ADMIN, 'DELETE', '/api/v1/namespaces/demo/serviceaccounts/default')).code).toBe(200);
    await until('default SA again', async () => {
      const r = await req(ADMIN, 'GET', '/api/v1/namespaces/demo/serviceaccounts/default');
      return r.code === 200 && r.body.metadata.uid !== old;
    });
    const cm = (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/configmaps/kube-root-ca.crt')).body;
    cm.data = { 'ca.crt': 'tampered' };
    expect((await req(ADMIN, 'PUT', '/api/v1/namespaces/demo/configmaps/kube-root-ca.crt', cm)).code).toBe(200);
    await until(
      'CA restored',
      async () =>
        (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/configmaps/kube-root-ca.crt')).body.data['ca.crt'] === CA,
    );
  });

  it('TokenRequest issues a token that authenticates; validation as token.go', async () => {
    expect(
      (
        await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'app' },
        })
      ).code,
    ).toBe(201);
    const r = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts/app/token', tokenRequest());
    expect(r.code).toBe(201);
    expect(r.body).toMatchObject({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      spec: { expirationSeconds: 3600, audiences: ['https://kubernetes.default.svc.cluster.local'] },
    });
    expect(Date.parse(r.body.status.expirationTimestamp) - Date.now()).toBeGreaterThan(3590_000);
    const token = r.body.status.token as string;
    await until('SA in the cache', () => !!lookup.get('ServiceAccount', 'demo', 'app'));
    expect((await req(token, 'GET', '/apis')).code).toBe(200);
    expect((await req('garbage.garbage.garbage', 'GET', '/apis')).code).toBe(401);

    const short = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/serviceaccounts/app/token',
      tokenRequest({ expirationSeconds: 60 }),
    );
    expect(short.code).toBe(422);
    expect(short.body.message).toBe(
      'TokenRequest.authentication.k8s.io "app" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
    expect((await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts/nope/token', tokenRequest())).code).toBe(
      404,
    );
    const bad = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/serviceaccounts/app/token',
      tokenRequest({ boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'x' } }),
    );
    expect(bad.code).toBe(400);
  });

  it("decodes kubectl's protobuf TokenRequest body", async () => {
    const body = envelope('authentication.k8s.io/v1', 'TokenRequest', [
      ...lField(1, lField(1, 'app')),
      ...lField(2, [...lField(1, 'a1'), ...vField(4, 1200)]),
    ]);
    const r = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts/app/token', body, {
      'content-type': 'application/vnd.kubernetes.protobuf',
    });
    expect(r.code).toBe(201);
    expect(r.body.spec).toMatchObject({ audiences: ['a1'], expirationSeconds: 1200 });
  });

  it('discovery lists serviceaccounts/token (TokenRequest, create)', async () => {
    const r = await req(ADMIN, 'GET', '/api/v1');
    expect(r.body.resources.find((x: { name: string }) => x.name === 'serviceaccounts/token')).toMatchObject({
      group: 'authentication.k8s.io',
      version: 'v1',
      kind: 'TokenRequest',
      verbs: ['create'],
    });
  });

  it('OIDC discovery documents', async () => {
    const c = await req(ADMIN, 'GET', '/.well-known/openid-configuration');
    expect(c.body).toEqual({
      issuer: 'https://kubernetes.default.svc.cluster.local',
      jwks_uri: 'https://10.0.0.1:6443/openid/v1/jwks',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
    const k = await req(ADMIN, 'GET', '/openid/v1/jwks');
    expect(k.body.keys).toHaveLength(1);
    expect((await app.inject({ method: 'GET', url: '/openid/v1/jwks' })).statusCode).toBe(401);
  });

  it('admission: default account, projected kube-api-access volume, automount false, missing account', async () => {
    const podBody = (name: string, spec: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [{ name: 'c', image: 'busybox' }],
        initContainers: [{ name: 'i', image: 'busybox' }],
        ...spec,
      },
    });
    const r = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/pods', podBody('p1'));
    expect(r.code).toBe(201);
    const spec = r.body.spec;
    expect(spec.serviceAccountName).toBe('default');
    expect(spec.serviceAccount).toBe('default');
    const vol = spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    expect(vol.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(vol.projected.sources).toEqual([
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ]);
    for (const c of [...spec.containers, ...spec.initContainers])
      expect(c.volumeMounts).toContainEqual({ name: vol.name, readOnly: true, mountPath: TOKEN_MOUNT_PATH });

    const off = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/pods',
      podBody('p2', { automountServiceAccountToken: false }),
    );
    expect(off.body.spec.volumes ?? []).toEqual([]);
    expect(
      (
        await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'quiet' },
          automountServiceAccountToken: false,
        })
      ).code,
    ).toBe(201);
    const quiet = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/pods',
      podBody('p3', { serviceAccountName: 'quiet' }),
    );
    expect(quiet.code).toBe(201);
    expect(quiet.body.spec.volumes ?? []).toEqual([]);

    const missing = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/pods',
      podBody('p4', { serviceAccountName: 'ghost' }),
    );
    expect(missing.code).toBe(403);
    expect(missing.body.message).toBe(
      'pods "p4" is forbidden: error looking up service account demo/ghost: serviceaccount "ghost" not found',
    );
  });

  it("admission: a pod naming no imagePullSecrets gets its account's; its own are kept", async () => {
    expect(
      (
        await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'puller' },
          imagePullSecrets: [{ name: 'regcred' }, { name: 'other' }],
        })
      ).code,
    ).toBe(201);
    const body = (name: string, spec: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { serviceAccountName: 'puller', containers: [{ name: 'c', image: 'busybox' }], ...spec },
    });
    const copied = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/pods', body('pull1'));
    expect(copied.code).toBe(201);
    expect(copied.body.spec.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'other' }]);
    const own = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/pods',
      body('pull2', { imagePullSecrets: [{ name: 'mine' }] }),
    );
    expect(own.body.spec.imagePullSecrets).toEqual([{ name: 'mine' }]);
    const none = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/pods',
      body('pull3', { serviceAccountName: 'default' }),
    );
    expect(none.body.spec.imagePullSecrets).toBeUndefined();
  });

  it('a token bound to a pod is refused once the pod is deleted', async () => {
    const pod = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bound' },
      spec: { serviceAccountName: 'app', containers: [{ name: 'c', image: 'busybox' }] },
    });
    expect(pod.code).toBe(201);
    const wrong = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/serviceaccounts/default/token',
      tokenRequest({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound' } }),
    );
    expect(wrong.code).toBe(400);
    expect(wrong.body.message).toBe(
      'cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.',
    );
    const r = await req(
      ADMIN,
      'POST',
      '/api/v1/namespaces/demo/serviceaccounts/app/token',
      tokenRequest({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound' } }),
    );
    expect(r.code).toBe(201);
    expect(r.body.spec.boundObjectRef).toMatchObject({ kind: 'Pod', name: 'bound', uid: pod.body.metadata.uid });
    const token = r.body.status.token;
    await until('pod in the cache', () => !!lookup.get('Pod', 'demo', 'bound'));
    expect((await req(token, 'GET', '/api')).code).toBe(200);
    expect((await req(ADMIN, 'DELETE', '/api/v1/namespaces/demo/pods/bound?gracePeriodSeconds=0')).code).toBe(200);
    await until('token refused', async () => (await req(token, 'GET', '/api')).code === 401);
  });

  it('the token controller fills a legacy token Secret; the token dies with the Secret', async () => {
    const s = await req(ADMIN, 'POST', '/api/v1/namespaces/demo/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-token', annotations: { 'kubernetes.io/service-account.name': 'app' } },
      type: 'kubernetes.io/service-account-token',
    });
    expect(s.code).toBe(201);
    let data: Record<string, string> = {};
    await until('token filled', async () => {
      data = (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/secrets/app-token')).body.data ?? {};
      return !!data.token;
    });
    expect(Buffer.from(data['ca.crt']!, 'base64').toString()).toBe(CA);
    expect(Buffer.from(data.namespace!, 'base64').toString()).toBe('demo');
    const token = Buffer.from(data.token!, 'base64').toString();
    await until('legacy token works', async () => (await req(token, 'GET', '/api')).code === 200);
    expect((await req(ADMIN, 'DELETE', '/api/v1/namespaces/demo/secrets/app-token')).code).toBe(200);
    await until('legacy token refused', async () => (await req(token, 'GET', '/api')).code === 401);
    // deleting the account deletes its token Secrets
    await req(ADMIN, 'POST', '/api/v1/namespaces/demo/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'short' },
    });
    await req(ADMIN, 'POST', '/api/v1/namespaces/demo/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'short-token', annotations: { 'kubernetes.io/service-account.name': 'short' } },
      type: 'kubernetes.io/service-account-token',
    });
    await until(
      'short-token filled',
      async () => !!(await req(ADMIN, 'GET', '/api/v1/namespaces/demo/secrets/short-token')).body.data?.token,
    );
    expect((await req(ADMIN, 'DELETE', '/api/v1/namespaces/demo/serviceaccounts/short')).code).toBe(200);
    await until(
      'short-token deleted',
      async () => (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/secrets/short-token')).code === 404,
    );
    // a Secret naming an account that does not exist is deleted
    await req(ADMIN, 'POST', '/api/v1/namespaces/demo/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'orphan', annotations: { 'kubernetes.io/service-account.name': 'ghost' } },
      type: 'kubernetes.io/service-account-token',
    });
    await until(
      'orphan deleted',
      async () => (await req(ADMIN, 'GET', '/api/v1/namespaces/demo/secrets/orphan')).code === 404,
    );
  });
});
