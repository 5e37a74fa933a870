// Boolean query parameters as kube-apiserver converts them: the Python client's
// `watch=True` must start a watch, `watch=False` must not.
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { requestAttributes } from '../../controlplane/authz/attributes.js';
import { queryBool } from '../../proto/query-bool.js';

describe('queryBool (Convert_Slice_string_To_bool)', () => {
  it.each([
    [undefined, false],
    [null, false],
    ['0', false],
    ['false', false],
    ['False', false],
    ['FALSE', false],
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['1', true],
    ['t', true],
    ['yes', true],
    ['', true],
  ] as const)('%j -> %s', (v, want) => {
    expect(queryBool(v)).toBe(want);
  });
});

describe('the API reads watch=True as a watch', () => {
  let app: FastifyInstance;
  let store: SqliteStore;
  let port = 0;
  beforeAll(async () => {
    store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const auth = new TokenAuthenticator();
    auth.add('tok', { name: 'admin', groups: ['system:masters'] });
    app = await buildApiServer({ storage, auth, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  /** the first chunk of the response and its content type */
  function first(path: string): Promise<{ status: number; type: string; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { authorization: 'Bearer tok' } }, (res) => {
        res.once('data', (d: Buffer) => {
          resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: d.toString() });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('watch=True streams watch events, watch=False lists', async () => {
    const w = await first('/api/v1/namespaces?watch=True');
    expect(w.status).toBe(200);
    expect(JSON.parse(w.body.split('\n')[0]!).type).toBe('ADDED');
    expect(JSON.parse(await listBody()).kind).toBe('NamespaceList');
  });

  async function listBody(): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/namespaces?watch=False`, {
      headers: { authorization: 'Bearer tok' },
    });
    return r.text();
  }

  it('RBAC sees the same verb', () => {
    const u = { name: 'u', groups: [] };
    expect(requestAttributes('GET', '/api/v1/pods?watch=True', u).verb).toBe('watch');
    expect(requestAttributes('GET', '/api/v1/pods?watch=false', u).verb).toBe('list');
  });
});
