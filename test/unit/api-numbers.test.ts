// Integers against their Kubernetes Go types (int32/int64), numbers beyond float64, and
// integer query parameters, as kube-apiserver decodes them (issue 10, item 5).
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { defs } from '../../proto/schema/defs.js';
import { checkFields } from '../../proto/schema/check-fields.js';
import type { FieldSchema } from '../../proto/schema/types.js';

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

const H = { authorization: 'Bearer tok', 'content-type': 'application/json' };
let seq = 0;

/** a Deployment with raw JSON text spliced in (JSON.stringify cannot write 1e400 or 2^53+1) */
function deployment(spec: { replicas?: string; grace?: string; port?: string; generation?: string } = {}): string {
  const name = `d${++seq}`;
  const ports = spec.port ? `,"ports":[{"containerPort":${spec.port}}]` : '';
  const grace = spec.grace ? `,"terminationGracePeriodSeconds":${spec.grace}` : '';
  const gen = spec.generation ? `,"generation":${spec.generation}` : '';
  return (
    `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"${name}"${gen}},"spec":{"replicas":${spec.replicas ?? '1'},` +
    `"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"${ports}}]${grace}}}}}`
  );
}

async function post(body: string, url = '/apis/apps/v1/namespaces/default/deployments') {
  const res = await app.inject({ method: 'POST', url, headers: H, payload: body });
  return {
    code: res.statusCode,
    body: res.json() as { kind?: string; message?: string; reason?: string; spec?: Record<string, unknown> },
  };
}

const DECODE = 'Deployment in version "v1" cannot be handled as a Deployment: ';

describe('integer fields have their Kubernetes Go type', () => {
  it('every integer of the schema is int32 or int64 exactly as k8s.io/api declares it', () => {
    // the generated models of @kubernetes/client-node carry the OpenAPI format of each field
    const require = createRequire(import.meta.url);
    const dir = require.resolve('@kubernetes/client-node').replace(/dist\/index\.js$/, 'dist/gen/models/');
    const files = new Set(readdirSync(dir));
    const goName: Record<string, string> = { DiscoveryEndpointPort: 'EndpointPort' };
    const models = (def: string) => {
      const name = goName[def] ?? def;
      for (const p of ['V1', 'CoreV1', 'DiscoveryV1', 'EventsV1', 'V2']) {
        if (!files.has(`${p}${name}.js`)) continue;
        if (def === 'DiscoveryEndpointPort' && p !== 'DiscoveryV1') continue;
        const mod = require(`${dir}${p}${name}.js`) as Record<
          string,
          { getAttributeTypeMap(): { baseName: string; format: string }[] }
        >;
        return mod[`${p}${name}`]!.getAttributeTypeMap();
      }
      return undefined;
    };
    let checked = 0;
    const wrong: string[] = [];
    for (const [def, s] of Object.entries(defs)) {
      if (s.t !== 'object') continue;
      for (const [f, fs] of Object.entries(s.fields)) {
        const inner: FieldSchema = fs.t === 'list' ? fs.items : fs;
        if (inner.t !== 'int') continue;
        const attrs = models(def);
        const want = attrs?.find((a) => a.baseName === f)?.format;
        if (!want) {
          wrong.push(`${def}.${f}: no model`);
          continue;
        }
        if (inner.format !== want) wrong.push(`${def}.${f}: ${inner.format ?? '(none)'} != ${want}`);
        checked++;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(120);
  });

  it('checkFields reports integers outside int32 and unsafe int64 values', () => {
    expect(checkFields({ spec: { replicas: 2 ** 31 } }, 'Deployment').typeErrors).toEqual([
      'spec.replicas: expected int32, got integer',
    ]);
    expect(checkFields({ spec: { replicas: -(2 ** 31) } }, 'Deployment').typeErrors).toEqual([]);
    expect(checkFields({ spec: { replicas: Infinity } }, 'Deployment').typeErrors).toHaveLength(1);
    expect(checkFields({ metadata: { generation: 2 ** 53 } }, 'Deployment').typeErrors).toHaveLength(1);
    expect(checkFields({ metadata: { generation: 2 ** 40 } }, 'Deployment').typeErrors).toEqual([]);
  });

  it('replicas of 2^31 is a 400 with the decoder message kube-apiserver gives', async () => {
    const r = await post(deployment({ replicas: '2147483648' }));
    expect(r.code).toBe(400);
    expect(r.body.reason).toBe('BadRequest');
    expect(r.body.message).toBe(
      `${DECODE}json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32`,
    );
  });

  it('replicas of 2^53+1, 1e400, 1.5 and -2^31-1 are rejected; 2^31-1 is accepted', async () => {
    for (const v of ['9007199254740993', '1e400', '1.5', '-2147483649']) {
      const r = await post(deployment({ replicas: v }));
      expect(r.code, v).toBe(400);
      expect(r.body.message, v).toContain('Go struct field DeploymentSpec.spec.replicas of type int32');
    }
    const ok = await post(deployment({ replicas: '2147483647' }));
    expect(ok.code).toBe(201);
    expect(ok.body.spec?.replicas).toBe(2147483647);
  });

  it('a number beyond float64 is never stored, wherever it is', async () => {
    const r = await post(deployment({ generation: '1e400' }));
    expect(r.code).toBe(400);
    expect(r.body.message).toBe(
      `${DECODE}json: cannot unmarshal number beyond the range of float64 into Go struct field ObjectMeta.metadata.generation of type int64`,
    );
  });

  it('nested int32 fields name their Go struct; int64 fields take values past int32', async () => {
    const p = await post(deployment({ port: '70000000000' }));
    expect(p.code).toBe(400);
    expect(p.body.message).toBe(
      `${DECODE}json: cannot unmarshal number 70000000000 into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32`,
    );
    const g = await post(deployment({ grace: '4294967296' }));
    expect(g.code).toBe(201);
    const big = await post(deployment({ grace: '9007199254740993' }));
    expect(big.code).toBe(400);
    expect(big.body.message).toContain('spec.template.spec.terminationGracePeriodSeconds');
  });

  it('IntOrString takes an int32', async () => {
    const svc = '{"metadata":{"name":"s1"},"spec":{"ports":[{"port":80,"targetPort":2147483648}]}}';
    const r = await post(svc, '/api/v1/namespaces/default/services');
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('of type int32');
  });

  it('patches and the scale subresource are checked the same way', async () => {
    const created = await post(deployment());
    expect(created.code).toBe(201);
    const name = `d${seq}`;
    const url = `/apis/apps/v1/namespaces/default/deployments/${name}`;
    for (const [ct, body] of [
      ['application/merge-patch+json', '{"spec":{"replicas":2147483648}}'],
      ['application/strategic-merge-patch+json', '{"spec":{"replicas":1e400}}'],
      ['application/json-patch+json', '[{"op":"replace","path":"/spec/replicas","value":4294967296}]'],
    ] as const) {
      const res = await app.inject({ method: 'PATCH', url, headers: { ...H, 'content-type': ct }, payload: body });
      expect(res.statusCode, ct).toBe(400);
    }
    const scale = await app.inject({
      method: 'PUT',
      url: `${url}/scale`,
      headers: H,
      payload: `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"${name}"},"spec":{"replicas":2147483648}}`,
    });
    expect(scale.statusCode).toBe(400);
    expect(scale.json().message).toContain('Go struct field ScaleSpec.spec.replicas of type int32');
    const cur = await app.inject({ method: 'GET', url, headers: H });
    expect(cur.json().spec.replicas).toBe(1);
  });
});

describe('integer query parameters', () => {
  it('limit must parse as an int64: 1e20 is a 400, not a 500; a huge limit means no limit', async () => {
    for (const v of ['1e20', '1.5', 'abc', '99999999999999999999']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/pods?limit=${v}`, headers: H });
      expect(res.statusCode, v).toBe(400);
      expect(res.json().kind).toBe('Status');
    }
    const huge = await app.inject({ method: 'GET', url: '/api/v1/namespaces?limit=9223372036854775807', headers: H });
    expect(huge.statusCode).toBe(200);
    expect(huge.json().items.length).toBeGreaterThan(0);
  });

  it('gracePeriodSeconds must be an int64, in the query and in DeleteOptions', async () => {
    await post('{"metadata":{"name":"g1"}}', '/api/v1/namespaces/default/configmaps');
    const q = await app.inject({
      method: 'DELETE',
      url: '/api/v1/namespaces/default/configmaps/g1?gracePeriodSeconds=1.5',
      headers: H,
    });
    expect(q.statusCode).toBe(400);
    const b = await app.inject({
      method: 'DELETE',
      url: '/api/v1/namespaces/default/configmaps/g1',
      headers: H,
      payload: '{"gracePeriodSeconds":1e400}',
    });
    expect(b.statusCode).toBe(400);
    expect(b.json().message).toContain('Go struct field DeleteOptions.gracePeriodSeconds of type int64');
    const ok = await app.inject({
      method: 'DELETE',
      url: '/api/v1/namespaces/default/configmaps/g1?gracePeriodSeconds=9223372036854775807',
      headers: H,
    });
    expect(ok.statusCode).toBe(200);
  });

  it('bad watch parameters are a 400 Status before any stream starts', async () => {
    for (const qs of [
      'resourceVersion=abc',
      'resourceVersion=-1',
      'timeoutSeconds=1e3',
      'labelSelector=a%20b%20c',
      'fieldSelector=spec.bogus%3Dx',
    ]) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/namespaces/default/configmaps?watch=1&${qs}`,
        headers: H,
      });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().kind, qs).toBe('Status');
    }
  });

  it('timeoutSeconds past 2147483 (2^31 ms) keeps the watch open', async () => {
    const list = await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/configmaps', headers: H });
    const rv = list.json().metadata.resourceVersion as string;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port,
          path: `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&timeoutSeconds=2147484`,
          headers: H,
        },
        resolve,
      );
      r.on('error', reject);
      r.end();
    });
    expect(res.statusCode).toBe(200);
    let ended = false;
    res.on('end', () => {
      ended = true;
    });
    res.setEncoding('utf8');
    const first = new Promise<string>((resolve) => {
      let buf = '';
      res.on('data', (d: string) => {
        buf += d;
        if (buf.includes('\n')) resolve(buf);
      });
      res.on('end', () => resolve('END'));
    });
    // give a timer that overflowed (fires after 1 ms) its chance before the event is written
    await new Promise((r) => setTimeout(r, 20));
    await post('{"metadata":{"name":"w1"}}', '/api/v1/namespaces/default/configmaps');
    const line = await first;
    expect(line).not.toBe('END');
    expect(JSON.parse(line.split('\n')[0]!).type).toBe('ADDED');
    expect(ended).toBe(false);
    res.destroy();
  });
});
