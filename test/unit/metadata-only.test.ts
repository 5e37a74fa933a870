// Metadata-only gets, lists and watches, as client-go's metadata client and metadata
// informers ask for them (Accept: ...;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1).
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findByKind } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { wantsMetadataOnly } from '../../controlplane/api/table.js';

// what client-go's metadata client sends (k8s.io/client-go/metadata)
const LIST_ACCEPT =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const GET_ACCEPT =
  'application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

let app: FastifyInstance;
let store: SqliteStore;
let port = 0;
beforeAll(async () => {
  store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  await storage.create(findByKind('', 'ConfigMap')!, 'default', {
    metadata: { name: 'cm', labels: { a: 'b' } },
    data: { secret: 'value' },
  });
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

async function get(path: string, accept: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: 'Bearer tok', accept } });
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

describe('metadata-only responses', () => {
  it('recognises the Accept alternatives, not plain JSON or protobuf only', () => {
    expect(wantsMetadataOnly(LIST_ACCEPT)).toBe(true);
    expect(wantsMetadataOnly(GET_ACCEPT)).toBe(true);
    expect(wantsMetadataOnly('application/json')).toBe(false);
    expect(
      wantsMetadataOnly('application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'),
    ).toBe(false);
    expect(wantsMetadataOnly('application/json;as=Table;v=v1;g=meta.k8s.io')).toBe(false);
  });

  it('a list is a PartialObjectMetadataList without data', async () => {
    const l = await get('/api/v1/namespaces/default/configmaps', LIST_ACCEPT);
    expect(l.kind).toBe('PartialObjectMetadataList');
    expect(l.apiVersion).toBe('meta.k8s.io/v1');
    const items = l.items as Record<string, any>[];
    expect(items.map((i) => [i.kind, i.apiVersion, i.metadata.name, i.metadata.labels])).toEqual([
      ['PartialObjectMetadata', 'meta.k8s.io/v1', 'cm', { a: 'b' }],
    ]);
    expect(JSON.stringify(l)).not.toContain('value');
    expect((l.metadata as Record<string, string>).resourceVersion).toMatch(/^\d+$/);
  });

  it('a get is a PartialObjectMetadata', async () => {
    const o = await get('/api/v1/namespaces/default/configmaps/cm', GET_ACCEPT);
    expect(o.kind).toBe('PartialObjectMetadata');
    expect(o.data).toBeUndefined();
    expect((o.metadata as Record<string, string>).name).toBe('cm');
  });

  it('a watch sends PartialObjectMetadata objects', async () => {
    const line = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/namespaces/default/configmaps?watch=1',
          headers: { authorization: 'Bearer tok', accept: GET_ACCEPT },
        },
        (res) => {
          let buf = '';
          res.on('data', (d: Buffer) => {
            buf += d.toString();
            const nl = buf.indexOf('\n');
            if (nl >= 0) {
              resolve(buf.slice(0, nl));
              req.destroy();
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    const ev = JSON.parse(line) as { type: string; object: Record<string, unknown> };
    expect(ev.type).toBe('ADDED');
    expect(ev.object.kind).toBe('PartialObjectMetadata');
    expect(ev.object.data).toBeUndefined();
  });

  it('a plain JSON client still gets the object', async () => {
    const o = await get('/api/v1/namespaces/default/configmaps/cm', 'application/json');
    expect(o.kind).toBe('ConfigMap');
    expect(o.data).toEqual({ secret: 'value' });
  });
});
