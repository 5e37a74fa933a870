// RBAC through the API server in process: a second token user ("alice", group dev) is
// refused until a Role binds her, escalation is refused with Kubernetes' message, the
// review APIs answer for her, impersonation needs the verb, aggregation and bootstrap
// restore run as controllers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { RbacAuthorizer, RbacCache } from '../../controlplane/authz/authorizer.js';
import { reconcileBootstrapPolicy } from '../../controlplane/authz/bootstrap-policy.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import * as aggregation from '../../controlplane/controllers/cluster-role-aggregation-controller.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { installUpgradeGuard } from '../../controlplane/agents/upgrade-guard.js';
import { authorizeUpgrade } from '../../controlplane/authz/http.js';

const ADMIN = 'admin-token';
const ALICE = 'alice-token';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';

let app: FastifyInstance;
let storage: ApiStorage;
let stop: () => Promise<void>;
let authorizer: RbacAuthorizer;
let tokens: TokenAuthenticator;

beforeAll(async () => {
  const store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await reconcileBootstrapPolicy(storage);
  const cache = new RbacCache(storage);
  await cache.start();
  const auth = new TokenAuthenticator();
  auth.add(ADMIN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  auth.add(ALICE, { name: 'alice', groups: ['dev'] });
  authorizer = new RbacAuthorizer(cache);
  tokens = auth;
  app = await buildApiServer({ storage, auth, logger: false, authorizer });
  const ctx = controllerContext(storage, pino({ level: 'silent' }));
  const agg = aggregation.create(ctx);
  await agg.start();
  await ctx.informers.startAll();
  for (const ns of ['demo', 'other'])
    await req(ADMIN, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  stop = async () => {
    agg.stop();
    ctx.informers.stopAll();
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
  headers: Record<string, string> = {},
) {
  const r = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    payload: body ? JSON.stringify(body) : undefined,
  });
  return { code: r.statusCode, body: r.body ? JSON.parse(r.body) : undefined };
}

async function until(what: string, cond: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const role = (name: string, rules: unknown[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name },
  rules,
});
const binding = (name: string, roleKind: string, roleName: string, subjects: unknown[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName },
  subjects,
});

describe('RBAC on every request', () => {
  it("refuses a user without bindings with kube-apiserver's 403", async () => {
    const r = await req(ALICE, 'GET', '/api/v1/namespaces/demo/pods');
    expect(r.code).toBe(403);
    expect(r.body).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Forbidden',
      code: 403,
      message: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "demo"',
      details: { kind: 'pods' },
    });
    const n = await req(ALICE, 'GET', '/metrics');
    expect(n).toMatchObject({ code: 403, body: { message: 'forbidden: User "alice" cannot get path "/metrics"' } });
    // discovery is open to every authenticated user (system:discovery)
    expect((await req(ALICE, 'GET', '/apis')).code).toBe(200);
    expect((await req(ALICE, 'GET', '/version')).code).toBe(200);
  });

  it('a RoleBinding grants exactly its Role, in its namespace', async () => {
    expect(
      (
        await req(
          ADMIN,
          'POST',
          `${RBAC}/namespaces/demo/roles`,
          role('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]),
        )
      ).code,
    ).toBe(201);
    expect(
      (
        await req(
          ADMIN,
          'POST',
          `${RBAC}/namespaces/demo/rolebindings`,
          binding('alice-pods', 'Role', 'pod-reader', [{ kind: 'User', name: 'alice' }]),
        )
      ).code,
    ).toBe(201);
    await until(
      'alice may list pods',
      async () => (await req(ALICE, 'GET', '/api/v1/namespaces/demo/pods')).code === 200,
    );
    expect((await req(ALICE, 'GET', '/api/v1/namespaces/other/pods')).code).toBe(403);
    expect((await req(ALICE, 'GET', '/api/v1/namespaces/demo/secrets')).code).toBe(403);
    const del = await req(ALICE, 'DELETE', '/api/v1/namespaces/demo/pods/x');
    expect(del.body.message).toBe(
      'pods "x" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "demo"',
    );
    expect(del.body.details).toEqual({ kind: 'pods', name: 'x' });
  });

  it('serves the RBAC kinds with kubectl tables', async () => {
    const r = await app.inject({
      method: 'GET',
      url: `${RBAC}/namespaces/demo/rolebindings`,
      headers: { authorization: `Bearer ${ADMIN}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    const t = JSON.parse(r.body);
    expect(t.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      'Name',
      'Role',
      'Age',
      'Users',
      'Groups',
      'ServiceAccounts',
    ]);
    expect(t.rows[0].cells.slice(0, 2)).toEqual(['alice-pods', 'Role/pod-reader']);
    expect(t.rows[0].cells[3]).toBe('alice');
    const bad = await req(
      ADMIN,
      'POST',
      `${RBAC}/namespaces/demo/roles`,
      role('bad', [{ resources: ['pods'], verbs: [] }]),
    );
    expect(bad.code).toBe(422);
    expect(bad.body.message).toContain('rules[0].verbs: Required value: verbs must contain at least one value');
  });

  it('refuses to grant what the user does not hold (escalation), allows what it holds', async () => {
    await req(
      ADMIN,
      'POST',
      `${RBAC}/namespaces/demo/roles`,
      role('rbac-editor', [
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['roles', 'rolebindings'],
          verbs: ['create', 'get', 'list'],
        },
      ]),
    );
    await req(
      ADMIN,
      'POST',
      `${RBAC}/namespaces/demo/rolebindings`,
      binding('alice-rbac', 'Role', 'rbac-editor', [{ kind: 'Group', name: 'dev' }]),
    );
    await until(
      'alice may create roles',
      async () => (await req(ALICE, 'GET', `${RBAC}/namespaces/demo/roles`)).code === 200,
    );
    const esc = await req(
      ALICE,
      'POST',
      `${RBAC}/namespaces/demo/roles`,
      role('secrets', [{ apiGroups: [''], resources: ['secrets', 'pods'], verbs: ['get'] }]),
    );
    expect(esc.code).toBe(403);
    expect(esc.body.message).toBe(
      'roles.rbac.authorization.k8s.io "secrets" is forbidden: user "alice" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    );
    expect(esc.body.details).toEqual({ name: 'secrets', group: 'rbac.authorization.k8s.io', kind: 'roles' });
    expect(
      (
        await req(
          ALICE,
          'POST',
          `${RBAC}/namespaces/demo/roles`,
          role('mine', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]),
        )
      ).code,
    ).toBe(201);
    // concurrent RBAC writes each keep their own requester
    const both = await Promise.all([
      req(
        ALICE,
        'POST',
        `${RBAC}/namespaces/demo/roles`,
        role('c1', [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]),
      ),
      req(
        ADMIN,
        'POST',
        `${RBAC}/namespaces/demo/roles`,
        role('c2', [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]),
      ),
      req(
        ALICE,
        'POST',
        `${RBAC}/namespaces/demo/roles`,
        role('c3', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]),
      ),
    ]);
    expect(both.map((r) => r.code)).toEqual([403, 201, 201]);
    // binding a role whose rules she holds is fine; binding `admin` is not
    expect(
      (
        await req(
          ALICE,
          'POST',
          `${RBAC}/namespaces/demo/rolebindings`,
          binding('b1', 'Role', 'mine', [{ kind: 'User', name: 'bob' }]),
        )
      ).code,
    ).toBe(201);
    const b2 = await req(
      ALICE,
      'POST',
      `${RBAC}/namespaces/demo/rolebindings`,
      binding('b2', 'ClusterRole', 'admin', [{ kind: 'User', name: 'bob' }]),
    );
    expect(b2.code).toBe(403);
    expect(b2.body.message).toMatch(
      /^rolebindings.rbac.authorization.k8s.io "b2" is forbidden: user "alice" .* is attempting to grant RBAC permissions not currently held:\n/,
    );
    expect(
      await storage.tryGet((await import('../../controlplane/resources/rbac.js')).roleBinding, 'demo', 'b2'),
    ).toBeUndefined();
    // an aggregationRule gathers anything: only for those holding every permission
    await req(ADMIN, 'POST', `${RBAC}/clusterroles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'cr-creator' },
      rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['create'] }],
    });
    await req(ADMIN, 'POST', `${RBAC}/clusterrolebindings`, {
      ...binding('alice-cr', 'ClusterRole', 'cr-creator', [{ kind: 'User', name: 'alice' }]),
      kind: 'ClusterRoleBinding',
    });
    const aggBody = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'gather' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] },
    };
    await until(
      'alice may create cluster roles',
      async () =>
        (
          await req(ALICE, 'POST', `${RBAC}/clusterroles`, {
            ...aggBody,
            metadata: { name: 'plain' },
            aggregationRule: undefined,
          })
        ).code === 201,
    );
    const agg = await req(ALICE, 'POST', `${RBAC}/clusterroles`, aggBody);
    expect(agg.code).toBe(403);
    expect(agg.body.message).toBe(
      'clusterroles.rbac.authorization.k8s.io "gather" is forbidden: must have cluster-admin privileges to use the aggregationRule',
    );
    // with `bind` on the admin ClusterRole she may
    await req(
      ADMIN,
      'POST',
      `${RBAC}/namespaces/demo/roles`,
      role('binder', [
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['clusterroles'],
          verbs: ['bind'],
          resourceNames: ['admin'],
        },
      ]),
    );
    await req(
      ADMIN,
      'POST',
      `${RBAC}/namespaces/demo/rolebindings`,
      binding('alice-binder', 'Role', 'binder', [{ kind: 'User', name: 'alice' }]),
    );
    await until(
      'alice may bind admin',
      async () =>
        (
          await req(
            ALICE,
            'POST',
            `${RBAC}/namespaces/demo/rolebindings`,
            binding('b3', 'ClusterRole', 'admin', [{ kind: 'User', name: 'bob' }]),
          )
        ).code === 201,
    );
  });
});

describe('review APIs and impersonation', () => {
  const ssar = (attrs: Record<string, string>) => ({
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: attrs },
  });

  it('SelfSubjectAccessReview answers for the caller', async () => {
    const yes = await req(
      ALICE,
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      ssar({ namespace: 'demo', verb: 'list', resource: 'pods' }),
    );
    expect(yes.code).toBe(201);
    expect(yes.body.status).toEqual({ allowed: true });
    const no = await req(
      ALICE,
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      ssar({ namespace: 'demo', verb: 'delete', resource: 'pods' }),
    );
    expect(no.body.status.allowed).toBe(false);
    const bad = await req(ALICE, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { spec: {} });
    expect(bad.code).toBe(422);
  });

  it('SelfSubjectRulesReview lists the rules, SelfSubjectReview the user', async () => {
    const r = await req(ALICE, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: 'demo' },
    });
    expect(r.body.status.resourceRules).toContainEqual({
      verbs: ['get', 'list'],
      apiGroups: [''],
      resources: ['pods'],
    });
    expect(r.body.status.nonResourceRules.length).toBeGreaterThan(0);
    const w = await req(ALICE, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(w.body.status.userInfo).toEqual({ username: 'alice', groups: ['dev', 'system:authenticated'] });
  });

  it('SubjectAccessReview is for those allowed to create it', async () => {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'alice',
        groups: ['dev'],
        resourceAttributes: { namespace: 'demo', verb: 'get', resource: 'pods' },
      },
    };
    expect(
      (await req(ADMIN, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', body)).body.status.allowed,
    ).toBe(true);
    expect((await req(ALICE, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', body)).code).toBe(403);
  });

  it('impersonation needs the impersonate verb; the impersonated user is then judged', async () => {
    const r = await req(ALICE, 'GET', '/api/v1/namespaces/demo/pods', undefined, { 'impersonate-user': 'bob' });
    expect(r.code).toBe(403);
    expect(r.body.message).toBe(
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    const asAlice = await req(ADMIN, 'GET', '/api/v1/namespaces/other/pods', undefined, {
      'impersonate-user': 'alice',
    });
    expect(asAlice.body.message).toBe(
      'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "other"',
    );
    const who = await req(
      ADMIN,
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { kind: 'SelfSubjectReview' },
      { 'impersonate-user': 'carol', 'impersonate-group': 'ops' },
    );
    expect(who.body.status.userInfo).toEqual({ username: 'carol', groups: ['ops', 'system:authenticated'] });
    expect((await req(ADMIN, 'GET', '/api/v1/namespaces', undefined, { 'impersonate-group': 'ops' })).code).toBe(400);
  });
});

describe('bootstrap policy and aggregation', () => {
  const getCR = async (name: string) => req(ADMIN, 'GET', `${RBAC}/clusterroles/${name}`);

  it('view is aggregated, excludes secrets, and picks up a labelled ClusterRole', async () => {
    // aggregated at reconcile already, before any controller ran
    const freshStore = new SqliteStore(':memory:');
    const fresh = new ApiStorage(freshStore);
    await reconcileBootstrapPolicy(fresh);
    const admin = await fresh.get(
      (await import('../../controlplane/resources/rbac.js')).clusterRole,
      undefined,
      'admin',
    );
    await freshStore.close();
    expect(admin.rules.some((r: { resources?: string[] }) => r.resources?.includes('rolebindings'))).toBe(true);
    expect(admin.rules.some((r: { resources?: string[] }) => r.resources?.includes('pods/log'))).toBe(true);
    await until('view aggregated', async () => ((await getCR('view')).body.rules ?? []).length > 0);
    const view = (await getCR('view')).body;
    expect(view.rules.some((r: { resources?: string[] }) => r.resources?.includes('secrets'))).toBe(false);
    await until('admin aggregated from edit and view', async () =>
      ((await getCR('admin')).body.rules ?? []).some((r: { resources?: string[] }) =>
        r.resources?.includes('rolebindings'),
      ),
    );
    await req(ADMIN, 'POST', `${RBAC}/clusterroles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }],
    });
    await until('view has widgets', async () =>
      (await getCR('view')).body.rules.some((r: { resources?: string[] }) => r.resources?.includes('widgets')),
    );
  });

  it('a deleted bootstrap ClusterRole is put back', async () => {
    const before = (await getCR('system:basic-user')).body.metadata.uid;
    expect((await req(ADMIN, 'DELETE', `${RBAC}/clusterroles/system:basic-user`)).code).toBe(200);
    await until('restored', async () => {
      const r = await getCR('system:basic-user');
      return r.code === 200 && r.body.metadata.uid !== before;
    });
  });

  it('reconcile is additive and idempotent', async () => {
    await req(ADMIN, 'PUT', `${RBAC}/clusterroles/system:discovery`, {
      ...(await getCR('system:discovery')).body,
      rules: [{ nonResourceURLs: ['/extra'], verbs: ['get'] }],
    });
    await reconcileBootstrapPolicy(storage);
    const rules = (await getCR('system:discovery')).body.rules;
    expect(rules[0]).toEqual({ nonResourceURLs: ['/extra'], verbs: ['get'] });
    expect(rules.some((r: { nonResourceURLs?: string[] }) => r.nonResourceURLs?.includes('/apis/*'))).toBe(true);
    const rv = (await getCR('system:discovery')).body.metadata.resourceVersion;
    await reconcileBootstrapPolicy(storage);
    expect((await getCR('system:discovery')).body.metadata.resourceVersion).toBe(rv);
  });
});

describe('upgrades (exec, attach, port-forward)', () => {
  it('need `create` on pods/<subresource>', async () => {
    const server = createServer();
    let taken = 0;
    installUpgradeGuard(server, {
      auth: tokens,
      log: pino({ level: 'silent' }),
      handlers: [
        {
          handleUpgrade: (_req, socket) => {
            taken++;
            socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
            return true;
          },
        },
      ],
      authorize: (req, user) => {
        authorizeUpgrade(authorizer, req.method ?? 'GET', req.url ?? '', req.headers, user);
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const upgrade = (token: string, path: string) =>
      new Promise<string>((res, rej) => {
        const c = connect(port, '127.0.0.1');
        let out = '';
        c.on('data', (d) => {
          out += d;
        });
        c.on('close', () => res(out));
        c.on('error', rej);
        c.write(
          `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer ${token}\r\n\r\n`,
        );
      });
    try {
      const denied = await upgrade(ALICE, '/api/v1/namespaces/demo/pods/web/exec?command=sh');
      expect(denied).toMatch(/^HTTP\/1.1 403/);
      expect(denied).toContain(
        'pods \\"web\\" is forbidden: User \\"alice\\" cannot create resource \\"pods/exec\\" in API group \\"\\" in the namespace \\"demo\\"',
      );
      expect(taken).toBe(0);
      expect(await upgrade(ADMIN, '/api/v1/namespaces/demo/pods/web/exec?command=sh')).toMatch(/^HTTP\/1.1 101/);
      expect(taken).toBe(1);
    } finally {
      server.close();
    }
  });
});
