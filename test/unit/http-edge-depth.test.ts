// Deep bodies (issue 10 item 3): nesting is bounded before parsing (depth.ts: 1,000
// levels for JSON, 500 for YAML; Kubernetes 10,000): deeper is a 400 Status in every
// request shape, never a 500, never an abort (a YAML flow mapping 20,000 deep aborted the
// process in the yaml package); up to the bound nothing after parsing overflows (clone,
// merges, validation, pruning) into a 500. A flood of 2 MB deep bodies does not hold up
// other clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jsonTooDeep,
  MAX_BODY_DEPTH,
  MAX_YAML_DEPTH,
  valueTooLarge,
  yamlTooDeep,
} from '../../controlplane/api/depth.js';
import { startEdgeServer, TOKEN, type EdgeServer } from './http-edge-fixtures.js';

const deepArr = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const cm = (name: string, extra: string) =>
  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${name}"${extra}}`;

interface Shape {
  name: string;
  method: 'POST' | 'PUT' | 'PATCH';
  url: string;
  type: string;
  body: (inner: string) => string;
}
const CMS = '/api/v1/namespaces/default/configmaps';
const SHAPES: Shape[] = [
  {
    name: 'create, unknown field',
    method: 'POST',
    url: CMS,
    type: 'application/json',
    body: (d) => cm('c1', `},"x":${d}`),
  },
  {
    name: 'create, data value',
    method: 'POST',
    url: CMS,
    type: 'application/json',
    body: (d) => cm('c2', `},"data":{"k":${d}}`),
  },
  {
    name: 'create, annotations',
    method: 'POST',
    url: CMS,
    type: 'application/json',
    body: (d) => cm('c3', `,"annotations":{"a":${d}}}`),
  },
  {
    name: 'create, pod spec',
    method: 'POST',
    url: '/api/v1/namespaces/default/pods',
    type: 'application/json',
    body: (d) =>
      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"i","x":${d}}],"affinity":${d}}}`,
  },
  {
    name: 'update',
    method: 'PUT',
    url: `${CMS}/base`,
    type: 'application/json',
    body: (d) => cm('base', `},"x":${d}`),
  },
  {
    name: 'json patch',
    method: 'PATCH',
    url: `${CMS}/base`,
    type: 'application/json-patch+json',
    body: (d) => `[{"op":"add","path":"/metadata/annotations/x","value":${d}}]`,
  },
  {
    name: 'merge patch',
    method: 'PATCH',
    url: `${CMS}/base`,
    type: 'application/merge-patch+json',
    body: (d) => `{"data":{"k":${d}},"x":${d}}`,
  },
  {
    name: 'strategic merge patch',
    method: 'PATCH',
    url: `${CMS}/base`,
    type: 'application/strategic-merge-patch+json',
    body: (d) => `{"data":{"k":${d}},"x":${d}}`,
  },
  {
    name: 'apply patch (JSON as YAML)',
    method: 'PATCH',
    url: `${CMS}/base?fieldManager=t`,
    type: 'application/apply-patch+yaml',
    body: (d) => cm('base', `},"x":${d}`),
  },
  {
    name: 'apply patch on a pod spec',
    method: 'PATCH',
    url: '/api/v1/namespaces/default/pods/p2?fieldManager=t',
    type: 'application/apply-patch+yaml',
    body: (d) =>
      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p2"},"spec":{"containers":[{"name":"c","image":"i","env":${d}}]}}`,
  },
  { name: 'create as YAML', method: 'POST', url: CMS, type: 'application/yaml', body: (d) => cm('c4', `},"x":${d}`) },
];

describe('request body depth', () => {
  let s: EdgeServer;
  beforeAll(async () => {
    s = await startEdgeServer({ tls: false });
    const r = await s.app.inject({
      method: 'POST',
      url: CMS,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: cm('base', '},"data":{"k":"v"}'),
    });
    expect(r.statusCode).toBe(201);
  });
  afterAll(async () => {
    await s.close();
  });

  const send = (sh: Shape, payload: string) =>
    s.app.inject({
      method: sh.method,
      url: sh.url,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': sh.type },
      payload,
    });

  for (const [label, inner] of [
    ['700,000 arrays', deepArr(700_000)],
    [`${MAX_BODY_DEPTH + 1} arrays`, deepArr(MAX_BODY_DEPTH + 1)],
    ['20,000 objects', deepObj(20_000)],
  ] as const) {
    it.each(SHAPES)(`${label}: $name → 400 Status`, async (sh) => {
      const r = await send(sh, sh.body(inner));
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
      expect(r.json().message).toMatch(/exceeded max depth of \d+/);
    });
  }

  const WITHIN = Number(process.env.EDGE_WITHIN ?? MAX_BODY_DEPTH - 10);
  it.each(SHAPES)(`${WITHIN} levels (within the bound): $name → never a 5xx`, async (sh) => {
    const r = await send(sh, sh.body(deepArr(WITHIN)));
    expect(r.statusCode, r.body.slice(0, 300)).toBeLessThan(500);
    expect(r.json()).toHaveProperty('kind');
  });

  it(`YAML within the bound (${MAX_YAML_DEPTH - 10} levels, flow and block): never a 5xx`, async () => {
    const head = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n';
    const n = MAX_YAML_DEPTH - 10;
    let block = 'x:\n';
    for (let i = 1; i < n / 2 - 2; i++) block += `${' '.repeat(i)}a:\n`;
    for (const body of [
      `${head}x: ${'['.repeat(n)}${']'.repeat(n)}\n`,
      `${head}x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`,
      `${head}${block}${' '.repeat(n / 2)}b: 1\n`,
    ]) {
      for (const type of ['application/apply-patch+yaml', 'application/yaml']) {
        const r = await s.app.inject({
          method: type === 'application/yaml' ? 'PUT' : 'PATCH',
          url: `${CMS}/base?fieldManager=t`,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
          payload: body,
        });
        expect(r.statusCode, r.body.slice(0, 300)).toBeLessThan(500);
      }
    }
  });

  it('YAML: block and flow nesting, flow mappings 20,000 deep (aborted the process), aliases', async () => {
    const yaml = (payload: string, type = 'application/apply-patch+yaml') =>
      s.app.inject({
        method: 'PATCH',
        url: `${CMS}/base?fieldManager=t`,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
        payload,
      });
    const head = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\nx: ';
    for (const body of [
      head + '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000),
      head + '{a: '.repeat(100_000) + '1' + '}'.repeat(100_000),
      head + '['.repeat(100_000) + ']'.repeat(100_000),
      head + '\n' + '- '.repeat(20_000) + 'x',
    ]) {
      const r = await yaml(body);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ kind: 'Status', code: 400 });
    }
    // 100 aliases: the yaml package's count; 20 aliases of a 200 KB string: a 4 MB object from 200 KB of text
    const big = 'y'.repeat(200_000);
    for (const n of [100, 20]) {
      const r = await yaml(`${head}\n  a: &s ${big}\n  b: [${Array(n).fill('*s').join(', ')}]\n`);
      expect(r.statusCode).toBe(400);
      expect(r.json().message).toMatch(n === 20 ? /excessive aliasing/ : /alias/i);
    }
  });

  it('20 parallel 2 MB deep bodies do not hold up another client', async () => {
    await s.app.listen({ host: '127.0.0.1', port: 0 }).catch(() => undefined);
    const flood = Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? send(SHAPES[0]!, SHAPES[0]!.body(deepArr(1_000_000)))
        : send(SHAPES[8]!, SHAPES[8]!.body('{a: '.repeat(250_000) + '1' + '}'.repeat(250_000))),
    );
    const t0 = performance.now();
    const probe = await s.app.inject({
      method: 'GET',
      url: '/api/v1/namespaces/default/configmaps/base',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const probeMs = performance.now() - t0;
    const codes = (await Promise.all(flood)).map((r) => r.statusCode);
    expect(codes.every((c) => c === 400)).toBe(true);
    expect(probe.statusCode).toBe(200);
    expect(probeMs).toBeLessThan(1500);
  });

  it('the scans: exact for JSON strings, conservative for YAML, linear', () => {
    expect(jsonTooDeep(deepArr(MAX_BODY_DEPTH))).toBe(false);
    expect(jsonTooDeep(deepArr(MAX_BODY_DEPTH + 1))).toBe(true);
    expect(jsonTooDeep(deepArr(10_000), 10_000)).toBe(false);
    expect(jsonTooDeep(deepArr(10_001), 10_000)).toBe(true);
    expect(jsonTooDeep(`{"a":"${'['.repeat(20_000)}"}`)).toBe(false);
    expect(jsonTooDeep(`{"a":"\\"${'['.repeat(20_000)}"}`)).toBe(false);
    expect(jsonTooDeep(`{"a":"${']'.repeat(20_000)}","b":${deepArr(MAX_BODY_DEPTH + 1)}}`)).toBe(true);
    expect(yamlTooDeep('{a: '.repeat(9_000) + '1' + '}'.repeat(9_000), 10_000)).toBe(false);
    expect(yamlTooDeep('{a: '.repeat(MAX_YAML_DEPTH - 5) + '1' + '}'.repeat(MAX_YAML_DEPTH - 5))).toBe(false);
    expect(yamlTooDeep('{a: '.repeat(MAX_YAML_DEPTH + 1) + '1' + '}'.repeat(MAX_YAML_DEPTH + 1))).toBe(true);
    expect(yamlTooDeep(`a: '${'['.repeat(20_000)}'\n`)).toBe(false);
    expect(yamlTooDeep(`a: |\n  ${'['.repeat(20_000)}\nb: 1\n`)).toBe(false);
    // brackets a scanner might think quoted are still counted where the yaml lexer sees flow
    expect(yamlTooDeep(`a: |\n  {'\nb: ${deepArr(20_000)}\n`)).toBe(true);
    expect(yamlTooDeep(`a: it's [x]\nb: ${'['.repeat(20_000)}'\n`)).toBe(true);
    expect(yamlTooDeep(`a: "${']'.repeat(20_000)}"\nb: ${deepArr(MAX_YAML_DEPTH + 1)}\n`)).toBe(true);
    let v: unknown = 1;
    for (let i = 0; i < MAX_BODY_DEPTH + 1; i++) v = [v];
    expect(valueTooLarge(v)).toBe('depth');
    expect(valueTooLarge({ a: 'x'.repeat(100) }, 10, 50)).toBe('size');
  });
});
