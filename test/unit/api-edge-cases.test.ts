// The API's edge cases in process (fastify inject on buildApiServer, RBAC on): each answer's
// Status body as kube-apiserver writes it — 400 for a body that does not parse, 404 for an
// unknown resource or object, 409 AlreadyExists and Conflict (stale resourceVersion, on the
// object and on its scale), 422 Invalid with field causes, 403 Forbidden, 405 and 415, and
// dry-runs (create, delete, binding, scale) that change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { RbacAuthorizer, RbacCache } from '../../controlplane/authz/authorizer.js';
import { reconcileBootstrapPolicy } from '../../controlplane/authz/bootstrap-policy.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const ADMIN = 'admin-token';
const ALICE = 'alice-token';
const NS = '/api/v1/namespaces/default';
const APPS = '/apis/apps/v1/namespaces/default';

let app: FastifyInstance;
let stop: () => Promise<void>;

beforeAll(async () => {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await reconcileBootstrapPolicy(storage);
  const cache = new RbacCache(storage);
  await cache.start();
  const auth = new TokenAuthenticator();
  auth.add(ADMIN, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  auth.add(ALICE, { name: 'alice', groups: ['dev'] });
  app = await buildApiServer({ storage, auth, logger: false, authorizer: new RbacAuthorizer(cache) });
  stop = async () => {
    cache.stop();
    await app.close();
    await store.close();
  };
});

afterAll(async () => stop());

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** a request as admin (or `token`); a body that is not a string is sent as JSON */
async function call(method: Method, url: string, body?: unknown, opts: { token?: string; contentType?: string } = {}) {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? ADMIN}` };
  if (payload !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const r = await app.inject({ method, url, headers, payload });
  return {
    code: r.statusCode,
    text: r.body,
    body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : undefined,
  };
}

/** the Status fields in kube-apiserver's order: kind, apiVersion, metadata, status, message, reason, details?, code */
function expectStatus(
  r: { code: number; text: string; body?: Record<string, unknown> },
  code: number,
  reason: string,
  details?: Record<string, unknown>,
) {
  expect(r.code).toBe(code);
  expect(r.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code });
  expect(Object.keys(r.body!)).toEqual([
    'kind',
    'apiVersion',
    'metadata',
    'status',
    'message',
    'reason',
    ...(details ? ['details'] : []),
    'code',
  ]);
  if (details) expect(r.body!.details).toEqual(details);
  return r.body!.message as string;
}

const configMap = (name: string, data: Record<string, string> = {}, rv?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(rv ? { resourceVersion: rv } : {}) },
  data,
});
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
});
const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

describe('400 BadRequest', () => {
  it("a body that does not parse: the decoder's error, nothing created", async () => {
    const msg = expectStatus(await call('POST', `${NS}/configmaps`, '{not json'), 400, 'BadRequest');
    expect(msg.startsWith("couldn't get version/kind; json parse error: ")).toBe(true);
    expect((await call('GET', `${NS}/configmaps`)).body!.items).toEqual([]);
  });

  it('a dryRun value other than All', async () => {
    const msg = expectStatus(await call('POST', `${NS}/configmaps?dryRun=Some`, configMap('x')), 400, 'BadRequest');
    expect(msg).toBe('Invalid dryRun value: "Some": supported values: "All"');
  });
});

describe('404 NotFound', () => {
  it('an unknown group, and an unknown resource of a known group: details empty', async () => {
    for (const url of ['/apis/nothing.example/v1/things', `${NS}/widgets`]) {
      const msg = expectStatus(await call('GET', url), 404, 'NotFound', {});
      expect(msg).toBe('the server could not find the requested resource');
    }
  });

  it('an unknown object: its name and the plural', async () => {
    const msg = expectStatus(await call('GET', `${NS}/configmaps/nope`), 404, 'NotFound', {
      name: 'nope',
      kind: 'configmaps',
    });
    expect(msg).toBe('configmaps "nope" not found');
    const grouped = expectStatus(await call('GET', `${APPS}/deployments/nope`), 404, 'NotFound', {
      name: 'nope',
      group: 'apps',
      kind: 'deployments',
    });
    expect(grouped).toBe('deployments.apps "nope" not found');
  });

  it('a subresource of an object that does not exist (eviction)', async () => {
    const msg = expectStatus(
      await call('POST', `${NS}/pods/ghost/eviction`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'ghost' },
      }),
      404,
      'NotFound',
      { name: 'ghost', kind: 'pods' },
    );
    expect(msg).toBe('pods "ghost" not found');
  });
});

describe('409 AlreadyExists and Conflict', () => {
  it('creating a name that exists', async () => {
    expect((await call('POST', `${NS}/configmaps`, configMap('dup', { a: '1' }))).code).toBe(201);
    const msg = expectStatus(
      await call('POST', `${NS}/configmaps`, configMap('dup', { a: '2' })),
      409,
      'AlreadyExists',
      { name: 'dup', kind: 'configmaps' },
    );
    expect(msg).toBe('configmaps "dup" already exists');
    expect((await call('GET', `${NS}/configmaps/dup`)).body!.data).toEqual({ a: '1' });
  });

  it('an update with a stale resourceVersion changes nothing', async () => {
    const created = await call('POST', `${NS}/configmaps`, configMap('rv', { a: '1' }));
    const rv = (created.body!.metadata as { resourceVersion: string }).resourceVersion;
    expect((await call('PUT', `${NS}/configmaps/rv`, configMap('rv', { a: '2' }, rv))).code).toBe(200);
    const msg = expectStatus(
      await call('PUT', `${NS}/configmaps/rv`, configMap('rv', { a: '3' }, rv)),
      409,
      'Conflict',
      { name: 'rv', kind: 'configmaps' },
    );
    expect(msg).toBe(
      'Operation cannot be fulfilled on configmaps "rv": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await call('GET', `${NS}/configmaps/rv`)).body!.data).toEqual({ a: '2' });
  });

  it('a Scale with a stale resourceVersion (the scale registry object)', async () => {
    expect((await call('POST', `${APPS}/deployments`, deployment('web'))).code).toBe(201);
    const msg = expectStatus(
      await call('PUT', `${APPS}/deployments/web/scale`, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: 'web', resourceVersion: '1' },
        spec: { replicas: 3 },
      }),
      409,
      'Conflict',
      { name: 'web', group: 'apps', kind: 'deployments' },
    );
    expect(msg).toContain('Operation cannot be fulfilled on deployments.apps "web"');
    expect((await call('GET', `${APPS}/deployments/web/scale`)).body!.spec).toEqual({ replicas: 1 });
  });

  it('binding a pod that is bound already', async () => {
    expect((await call('POST', `${NS}/pods`, pod('bound'))).code).toBe(201);
    const ok = await call('POST', `${NS}/pods/bound/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'bound' },
      target: { kind: 'Node', name: 'n1' },
    });
    expect(ok.code).toBe(201);
    expect(ok.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    const msg = expectStatus(
      await call('POST', `${NS}/pods/bound/binding`, { target: { kind: 'Node', name: 'n2' } }),
      409,
      'Conflict',
      { name: 'bound', kind: 'pods' },
    );
    expect(msg).toBe('Operation cannot be fulfilled on pods "bound": pod bound is already assigned to node "n1"');
  });
});

describe('422 Invalid with field causes', () => {
  it('a Pod without containers', async () => {
    const msg = expectStatus(
      await call('POST', `${NS}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p' },
        spec: { containers: [] },
      }),
      422,
      'Invalid',
      {
        name: 'p',
        kind: 'Pod',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }],
      },
    );
    expect(msg).toBe('Pod "p" is invalid: spec.containers: Required value');
    expectStatus(await call('GET', `${NS}/pods/p`), 404, 'NotFound', { name: 'p', kind: 'pods' });
  });

  it('a Binding without a target, and a Scale below zero', async () => {
    expect((await call('POST', `${NS}/pods`, pod('unbound'))).code).toBe(201);
    expectStatus(await call('POST', `${NS}/pods/unbound/binding`, { target: {} }), 422, 'Invalid', {
      name: 'unbound',
      kind: 'Binding',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
    });
    expect(((await call('GET', `${NS}/pods/unbound`)).body!.spec as { nodeName?: string }).nodeName).toBeUndefined();
    expect((await call('POST', `${APPS}/deployments`, deployment('neg'))).code).toBe(201);
    const msg = expectStatus(
      await call(
        'PATCH',
        `${APPS}/deployments/neg/scale`,
        { spec: { replicas: -1 } },
        { contentType: 'application/merge-patch+json' },
      ),
      422,
      'Invalid',
      {
        name: 'neg',
        group: 'autoscaling',
        kind: 'Scale',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: -1: must be greater than or equal to 0',
            field: 'spec.replicas',
          },
        ],
      },
    );
    expect(msg).toBe(
      'Scale.autoscaling "neg" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
  });
});

describe('403 Forbidden', () => {
  it('a user no binding allows: the RBAC message, details.kind the plural', async () => {
    const msg = expectStatus(await call('GET', `${NS}/configmaps`, undefined, { token: ALICE }), 403, 'Forbidden', {
      kind: 'configmaps',
    });
    expect(msg).toBe(
      'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    const named = expectStatus(
      await call('DELETE', `${NS}/configmaps/dup`, undefined, { token: ALICE }),
      403,
      'Forbidden',
      { name: 'dup', kind: 'configmaps' },
    );
    expect(named).toBe(
      'configmaps "dup" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "default"',
    );
    expect((await call('GET', `${NS}/configmaps/dup`)).code).toBe(200);
  });
});

describe('405 MethodNotAllowed and 415 UnsupportedMediaType', () => {
  it('a verb the path does not serve: NewMethodNotSupported', async () => {
    expect(
      expectStatus(await call('PUT', `${NS}/configmaps`, configMap('x')), 405, 'MethodNotAllowed', {
        kind: 'configmaps',
      }),
    ).toBe('update is not supported on resources of kind "configmaps"');
    expect(
      expectStatus(await call('GET', `${NS}/pods/unbound/binding`), 405, 'MethodNotAllowed', { kind: 'pods/binding' }),
    ).toBe('get is not supported on resources of kind "pods/binding"');
    expect(
      expectStatus(await call('GET', `${NS}/pods/unbound/eviction`), 405, 'MethodNotAllowed', {
        kind: 'pods/eviction',
      }),
    ).toBe('get is not supported on resources of kind "pods/eviction"');
  });

  it('a body in a media type the API does not take: no details, nothing written', async () => {
    const patch = expectStatus(
      await call('PATCH', `${NS}/configmaps/dup`, '{"data":{"a":"9"}}', { contentType: 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
    expect(patch.startsWith('the body of the request was in an unknown format - accepted media types include: ')).toBe(
      true,
    );
    expectStatus(
      await call('POST', `${NS}/configmaps`, 'x', { contentType: 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
    expect((await call('GET', `${NS}/configmaps/dup`)).body!.data).toEqual({ a: '1' });
  });
});

describe('dryRun=All changes nothing', () => {
  it('create answers the object and stores none', async () => {
    const r = await call('POST', `${NS}/configmaps?dryRun=All`, configMap('dry', { a: '1' }));
    expect(r.code).toBe(201);
    expect(r.body).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'dry', namespace: 'default' },
      data: { a: '1' },
    });
    expect((r.body!.metadata as { resourceVersion?: string }).resourceVersion).toBeUndefined();
    expectStatus(await call('GET', `${NS}/configmaps/dry`), 404, 'NotFound', { name: 'dry', kind: 'configmaps' });
  });

  it('delete, binding and scale leave the objects as they were', async () => {
    const before = (await call('GET', `${NS}/configmaps/dup`)).body!;
    expect((await call('DELETE', `${NS}/configmaps/dup?dryRun=All`)).code).toBe(200);
    expect((await call('GET', `${NS}/configmaps/dup`)).body).toEqual(before);
    const bind = await call('POST', `${NS}/pods/unbound/binding?dryRun=All`, { target: { kind: 'Node', name: 'n1' } });
    expect(bind.code).toBe(201);
    expect(((await call('GET', `${NS}/pods/unbound`)).body!.spec as { nodeName?: string }).nodeName).toBeUndefined();
    const scale = await call('PUT', `${APPS}/deployments/web/scale?dryRun=All`, {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web' },
      spec: { replicas: 5 },
    });
    expect(scale.code).toBe(200);
    expect(scale.body!.spec).toEqual({ replicas: 5 });
    expect(((await call('GET', `${APPS}/deployments/web`)).body!.spec as { replicas: number }).replicas).toBe(1);
  });
});
