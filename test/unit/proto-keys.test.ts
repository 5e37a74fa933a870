// `__proto__`, `constructor` and other Object.prototype names in request bodies: unknown
// fields like any other (dropped with a warning, or a strict decoding error), map keys
// kept as plain entries, and nothing ever reaches a prototype (issue 10, item 13).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

let app: FastifyInstance;
let store: SqliteStore;
beforeAll(async () => {
  store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const auth = new TokenAuthenticator();
  auth.add('tok', { name: 'admin', groups: ['system:masters'] });
  app = await buildApiServer({ storage, auth, logger: false });
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const H = { authorization: 'Bearer tok', 'content-type': 'application/json' };
const CM = '/api/v1/namespaces/default/configmaps';

/** the stored JSON of a ConfigMap, straight from the store */
async function stored(name: string): Promise<string> {
  const kv = await store.get(`/registry/core/configmaps/default/${name}`);
  if (!kv) throw new Error(`${name} not stored`);
  return kv.value;
}

function expectNoPollution(): void {
  const probe: Record<string, unknown> = {};
  expect(probe.polluted).toBeUndefined();
  expect(probe.x).toBeUndefined();
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
}

// raw text: JSON.stringify would drop or rename some of these keys
const HOSTILE_FIELDS =
  '"__proto__":{"x":1},"constructor":{"prototype":{"polluted":"yes"}},"toString":"t","hasOwnProperty":1';

function warnings(h: string | string[] | undefined): string[] {
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
}

describe('prototype keys in bodies', () => {
  it('are unknown fields: dropped with a warning on create (JSON and YAML), never stored', async () => {
    const res = await app.inject({
      method: 'POST',
      url: CM,
      headers: H,
      payload: `{"metadata":{"name":"a",${HOSTILE_FIELDS}},${HOSTILE_FIELDS},"data":{"k":"v"}}`,
    });
    expect(res.statusCode).toBe(201);
    const w = warnings(res.headers.warning).join('\n');
    for (const f of ['metadata.__proto__', 'metadata.constructor', '__proto__', 'constructor', 'toString'])
      expect(w).toContain(`unknown field \\"${f}\\"`);
    const raw = await stored('a');
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'polluted'])
      expect(raw).not.toContain(k);
    expect(JSON.parse(raw).data).toEqual({ k: 'v' });

    const yaml =
      'metadata:\n  name: b\n  __proto__: {x: 1}\n  constructor: {prototype: {polluted: yes}}\n__proto__: {x: 1}\n';
    const y = await app.inject({
      method: 'POST',
      url: CM,
      headers: { ...H, 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(y.statusCode).toBe(201);
    expect(await stored('b')).not.toMatch(/__proto__|constructor|polluted/);
    expectNoPollution();
  });

  it('are a strict decoding error with fieldValidation=Strict', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${CM}?fieldValidation=Strict`,
      headers: H,
      payload: `{"metadata":{"name":"s"},${HOSTILE_FIELDS}}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(
      'strict decoding error: unknown field "__proto__", unknown field "constructor", unknown field "toString", unknown field "hasOwnProperty"',
    );
    expect(await store.get('/registry/core/configmaps/default/s')).toBeUndefined();
  });

  it('are dropped from every patch type and from server-side apply', async () => {
    await app.inject({ method: 'POST', url: CM, headers: H, payload: '{"metadata":{"name":"p"},"data":{"k":"v"}}' });
    const patches: [string, string][] = [
      ['application/merge-patch+json', `{"metadata":{${HOSTILE_FIELDS}},${HOSTILE_FIELDS}}`],
      ['application/strategic-merge-patch+json', `{"metadata":{${HOSTILE_FIELDS}},${HOSTILE_FIELDS}}`],
      [
        'application/apply-patch+yaml',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  __proto__: {x: 1}\n  constructor: {prototype: {polluted: yes}}\n__proto__: {x: 1}\nconstructor: {prototype: {polluted: yes}}\n',
      ],
    ];
    for (const [ct, body] of patches) {
      const res = await app.inject({
        method: 'PATCH',
        url: `${CM}/p?fieldManager=t`,
        headers: { ...H, 'content-type': ct },
        payload: body,
      });
      expect(res.statusCode, ct).toBe(200);
      expect(await stored('p'), ct).not.toMatch(/__proto__|constructor|polluted|toString/);
    }
    // JSON patch refuses paths through __proto__ / constructor
    const jp = await app.inject({
      method: 'PATCH',
      url: `${CM}/p`,
      headers: { ...H, 'content-type': 'application/json-patch+json' },
      payload: '[{"op":"add","path":"/constructor/prototype/polluted","value":"yes"}]',
    });
    expect(jp.statusCode).toBeGreaterThanOrEqual(400);
    expect(jp.statusCode).toBeLessThan(500);
    // server-side apply creating the object
    const created = await app.inject({
      method: 'PATCH',
      url: `${CM}/q?fieldManager=t`,
      headers: { ...H, 'content-type': 'application/apply-patch+yaml' },
      payload: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q\n  __proto__: {x: 1}\n__proto__: {x: 1}\n',
    });
    expect(created.statusCode).toBe(201);
    expect(await stored('q')).not.toContain('__proto__');
    expectNoPollution();
  });

  it('are plain entries where they are map keys: a ConfigMap or Secret key named __proto__', async () => {
    // a valid key in Kubernetes ([-._a-zA-Z0-9]+); it must be stored as an entry, not as a prototype
    const cm = await app.inject({
      method: 'POST',
      url: CM,
      headers: H,
      payload: '{"metadata":{"name":"m"},"data":{"__proto__":"v","constructor":"c"}}',
    });
    expect(cm.statusCode).toBe(201);
    expect(JSON.parse(await stored('m')).data).toEqual(JSON.parse('{"__proto__":"v","constructor":"c"}'));
    const sec = await app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/secrets',
      headers: H,
      payload: '{"metadata":{"name":"s"},"stringData":{"__proto__":"secret"}}',
    });
    expect(sec.statusCode).toBe(201);
    const kv = await store.get('/registry/core/secrets/default/s');
    const data = JSON.parse(kv!.value).data as Record<string, unknown>;
    expect(Object.hasOwn(data, '__proto__')).toBe(true);
    expect(data['__proto__']).toBe(Buffer.from('secret').toString('base64'));
    expectNoPollution();
  });
});
