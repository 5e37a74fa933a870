// TokenReview (authentication.k8s.io/v1) and the read-only APIService list, in process:
// a table of review outcomes (admin token, ServiceAccount token with and without
// spec.audiences, a token for another audience, a bad and an empty token) through the
// API server with RBAC, the system:auth-delegator role, discovery, and the APIServices
// for the served group-versions (table, get, 405 on writes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { RbacAuthorizer, RbacCache } from '../../controlplane/authz/authorizer.js';
import { reconcileBootstrapPolicy } from '../../controlplane/authz/bootstrap-policy.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { generateSigningKey } from '../../controlplane/serviceaccount/jwt.js';
import { ServiceAccountTokens } from '../../controlplane/serviceaccount/tokens.js';
import { apiServices } from '../../controlplane/api/apiservices.js';
import { serveCrd, unserveCrd } from '../../controlplane/crd/registry.js';
import { resources } from '../../controlplane/resources/index.js';

const ADMIN = 'admin-token';
const ALICE = 'alice-token';
const API_AUD = 'https://kubernetes.default.svc.cluster.local';
const TR = '/apis/authentication.k8s.io/v1/tokenreviews';

let app: FastifyInstance;
let stop: () => Promise<void>;
let saTokens: ServiceAccountTokens;
const sa = { metadata: { name: 'app', namespace: 'demo', uid: 'sa-uid' } };

beforeAll(async () => {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await reconcileBootstrapPolicy(storage);
  const cache = new RbacCache(storage);
  await cache.start();
  const objs = new Map<string, unknown>([['ServiceAccount/demo/app', sa]]);
  saTokens = new ServiceAccountTokens({
    keys: [generateSigningKey()],
    lookup: { get: (kind, ns, name) => objs.get(`${kind}/${ns ?? ''}/${name}`) as never },
  });
  const auth = new TokenAuthenticator();
  auth.add(ADMIN, { name: 'admin', groups: ['system:masters'] });
  auth.add(ALICE, { name: 'alice', groups: ['dev'] });
  auth.use((t) => saTokens.authenticate(t));
  app = await buildApiServer({
    storage,
    auth,
    logger: false,
    authorizer: new RbacAuthorizer(cache),
    serviceAccounts: { tokens: saTokens, apiUrl: () => 'https://127.0.0.1:6443' },
  });
  stop = async () => {
    cache.stop();
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
  accept?: string,
) {
  const r = await app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(accept ? { accept } : {}),
    },
    payload: body ? JSON.stringify(body) : undefined,
  });
  return { code: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

const review = (spec: Record<string, unknown>) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenReview',
  spec,
});

describe('TokenReview', () => {
  const saToken = (audiences?: string[]) =>
    saTokens.issue(sa as never, { expirationSeconds: 600, ...(audiences ? { audiences } : {}) }).token;
  const SA_USER = {
    username: 'system:serviceaccount:demo:app',
    uid: 'sa-uid',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:demo', 'system:authenticated'],
  };
  const cases: { name: string; token: () => string; audiences?: string[]; status: Record<string, unknown> }[] = [
    {
      name: 'the admin token',
      token: () => ADMIN,
      status: {
        authenticated: true,
        user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
        audiences: [API_AUD],
      },
    },
    {
      name: 'the admin token for another audience',
      token: () => ADMIN,
      audiences: ['vault'],
      status: { authenticated: false, error: 'invalid bearer token' },
    },
    {
      name: 'a ServiceAccount token',
      token: () => saToken(),
      status: { authenticated: true, user: SA_USER, audiences: [API_AUD] },
    },
    {
      name: 'a ServiceAccount token for its audiences',
      token: () => saToken(['vault', 'x']),
      audiences: ['vault', 'other'],
      status: { authenticated: true, user: SA_USER, audiences: ['vault'] },
    },
    {
      name: 'a ServiceAccount token for another audience',
      token: () => saToken(['vault']),
      status: {
        authenticated: false,
        error: `token audiences ["vault"] is invalid for the target audiences ["${API_AUD}"]`,
      },
    },
    {
      name: 'a bad token',
      token: () => 'not-a-token',
      status: { authenticated: false, error: 'invalid bearer token' },
    },
  ];
  for (const c of cases) {
    it(`reviews ${c.name}`, async () => {
      const token = c.token();
      const r = await req(ADMIN, 'POST', TR, review({ token, ...(c.audiences ? { audiences: c.audiences } : {}) }));
      expect(r.code).toBe(201);
      expect(r.body.kind).toBe('TokenReview');
      expect(r.body.spec.token).toBe(token);
      const st = { ...r.body.status };
      if (st.user?.extra) {
        expect(st.user.extra['authentication.kubernetes.io/credential-id']?.[0]).toMatch(/^JTI=/);
        st.user = { ...st.user };
        delete st.user.extra;
      }
      expect(st).toEqual(c.status);
    });
  }

  it("refuses an empty token with kube-apiserver's 400", async () => {
    const r = await req(ADMIN, 'POST', TR, review({ token: '' }));
    expect(r.code).toBe(400);
    expect(r.body).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: 'token is required for TokenReview in authentication',
    });
  });

  it('needs create on tokenreviews (system:auth-delegator has it)', async () => {
    expect((await req(ALICE, 'POST', TR, review({ token: ADMIN }))).code).toBe(403);
    const role = await req(ADMIN, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:auth-delegator');
    expect(role.body.rules).toEqual([
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'] },
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'] },
    ]);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'alice-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
    };
    expect((await req(ADMIN, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', binding)).code).toBe(
      201,
    );
    const end = Date.now() + 5000;
    let code = 0;
    while (Date.now() < end && (code = (await req(ALICE, 'POST', TR, review({ token: ADMIN }))).code) !== 201)
      await new Promise((r) => setTimeout(r, 20));
    expect(code).toBe(201);
  });

  it('is in discovery', async () => {
    const l = await req(ADMIN, 'GET', '/apis/authentication.k8s.io/v1');
    expect(l.body.resources).toContainEqual(
      expect.objectContaining({ name: 'tokenreviews', kind: 'TokenReview', namespaced: false, verbs: ['create'] }),
    );
  });
});

describe('APIService', () => {
  const BASE = '/apis/apiregistration.k8s.io/v1/apiservices';

  it("lists one per served group-version with Kubernetes' priorities, available and local", async () => {
    const r = await req(ADMIN, 'GET', BASE);
    expect(r.code).toBe(200);
    expect(r.body.kind).toBe('APIServiceList');
    const names = r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    for (const n of [
      'v1',
      'v1.apps',
      'v1.rbac.authorization.k8s.io',
      'v1.authentication.k8s.io',
      'v1.apiregistration.k8s.io',
      'v1.batch',
    ])
      expect(names).toContain(n);
    expect(names).toEqual([...names].sort());
    const apps = r.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'v1.apps');
    expect(apps.spec).toEqual({ group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 });
    expect(apps.status.conditions[0]).toMatchObject({ type: 'Available', status: 'True', reason: 'Local' });
    const core = r.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'v1');
    expect(core.spec).toEqual({ version: 'v1', groupPriorityMinimum: 18000, versionPriority: 1 });
  });

  it('gets one, prints NAME SERVICE AVAILABLE AGE, refuses writes with 405', async () => {
    const one = await req(ADMIN, 'GET', `${BASE}/v1.rbac.authorization.k8s.io`);
    expect(one.body.spec).toMatchObject({ group: 'rbac.authorization.k8s.io', groupPriorityMinimum: 17000 });
    expect((await req(ADMIN, 'GET', `${BASE}/v9.nothing`)).code).toBe(404);
    const t = await req(ADMIN, 'GET', BASE, undefined, 'application/json;as=Table;v=v1;g=meta.k8s.io');
    expect(t.body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Service',
      'Available',
      'Age',
    ]);
    expect(t.body.rows.find((r: { cells: string[] }) => r.cells[0] === 'v1.apps').cells.slice(1, 3)).toEqual([
      'Local',
      'True',
    ]);
    const del = await req(ADMIN, 'DELETE', `${BASE}/v1.apps`);
    expect(del.code).toBe(405);
    expect(del.body).toMatchObject({
      reason: 'MethodNotAllowed',
      message: 'delete is not supported on resources of kind "apiservices.apiregistration.k8s.io"',
    });
    expect((await req(ADMIN, 'POST', BASE, { kind: 'APIService', metadata: { name: 'v1.x.io' } })).code).toBe(405);
  });

  it('lists the group-versions of served CRDs with their priorities, and drops them when unserved', () => {
    const crd = {
      metadata: { name: 'widgets.example.io' },
      spec: {
        group: 'example.io',
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
      status: { acceptedNames: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' } },
    };
    try {
      serveCrd(crd as never);
      const w = apiServices(resources, new Date(0)).find((s) => s.metadata.name === 'v1.example.io');
      expect(w?.spec).toEqual({ group: 'example.io', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 100 });
      expect(w?.metadata.labels).toEqual({ 'kube-aggregator.kubernetes.io/automanaged': 'true' });
    } finally {
      unserveCrd('widgets.example.io');
    }
    expect(apiServices(resources, new Date(0)).some((s) => s.metadata.name === 'v1.example.io')).toBe(false);
  });

  it('watches: the current set as ADDED events (Tables for kubectl get -w)', async () => {
    const addr = await app.listen({ port: 0, host: '127.0.0.1' });
    const events = async (accept: string) => {
      const r = await fetch(`${addr}${BASE}?watch=true&timeoutSeconds=1`, {
        headers: { authorization: `Bearer ${ADMIN}`, accept },
      });
      return (await r.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; object: Record<string, unknown> });
    };
    const plain = await events('application/json');
    expect(plain.every((e) => e.type === 'ADDED')).toBe(true);
    expect(plain.map((e) => (e.object.metadata as { name: string }).name)).toContain('v1.apps');
    const tables = await events('application/json;as=Table;v=v1;g=meta.k8s.io');
    expect(tables[0]!.object).toMatchObject({
      kind: 'Table',
      columnDefinitions: [{ name: 'Name' }, { name: 'Service' }, { name: 'Available' }, { name: 'Age' }],
    });
    expect(tables[1]!.object.columnDefinitions).toEqual([]);
  });

  it('is in discovery as get/list/watch', async () => {
    const l = await req(ADMIN, 'GET', '/apis/apiregistration.k8s.io/v1');
    expect(l.body.resources).toContainEqual(
      expect.objectContaining({ name: 'apiservices', kind: 'APIService', verbs: ['get', 'list', 'watch'] }),
    );
  });
});
