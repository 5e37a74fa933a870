// Status bodies byte for byte as kube-apiserver writes them: field order kind, apiVersion,
// metadata, status, message, reason, details, code, and the JSON encoder's trailing newline.
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { ApiError, invalid, notFound, field } from '../../controlplane/api/errors.js';

describe('Status encoding', () => {
  it('a NotFound as kube-apiserver 1.32 sends it', () => {
    expect(notFound('pods', 'x').body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n',
    );
  });

  it('an Invalid with causes', () => {
    expect(invalid('Pod', 'p', [field.required('spec.containers')]).body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \\"p\\" is invalid: spec.containers: Required value","reason":"Invalid","details":{"name":"p","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers"}]},"code":422}\n',
    );
  });

  it('without details, code follows reason', () => {
    expect(new ApiError(401, 'Unauthorized', 'Unauthorized').body()).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    );
  });
});

describe('Status bodies on the wire', () => {
  it('a 404 and a 401 leave the API server byte for byte as kube-apiserver writes them', async () => {
    const store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const auth = new TokenAuthenticator();
    auth.add('tok', { name: 'admin', groups: ['system:masters'] });
    const app = await buildApiServer({ storage, auth, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const r = await fetch(`${base}/api/v1/namespaces/default/pods/x`, { headers: { authorization: 'Bearer tok' } });
      expect(r.status).toBe(404);
      expect(await r.text()).toBe(notFound('pods', 'x').body());
      const u = await fetch(`${base}/api/v1/pods`);
      expect(u.status).toBe(401);
      expect(await u.text()).toBe(new ApiError(401, 'Unauthorized', 'Unauthorized').body());
      const nf = await fetch(`${base}/apis/nothing.example/v1/things`, { headers: { authorization: 'Bearer tok' } });
      expect(nf.status).toBe(404);
      expect((await nf.text()).endsWith('"code":404}\n')).toBe(true);
    } finally {
      await app.close();
      await store.close();
    }
  });
});
