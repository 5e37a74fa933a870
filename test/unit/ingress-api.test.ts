// Ingress and IngressClass on the server: ValidateIngress/ValidateIngressClass messages (a
// table of objects -> causes), the printers' rows, the DefaultIngressClass admission and the
// seeded `skiff` class through the write path, which Ingresses and Secrets reach the agents
// (ingress-state.ts: the authorization rule), and the status controller's node addresses.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedClusterServices, seedDefaultIngressClass, seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { findResource } from '../../controlplane/resources/index.js';
import { formatHosts, ingress } from '../../controlplane/resources/ingress.js';
import { ingressClass, skiffIngressClassObject } from '../../controlplane/resources/ingress-class.js';
import { ingressState, ownIngresses } from '../../controlplane/agents/ingress-state.js';
import {
  create as createStatusController,
  desiredIngressStatus,
} from '../../controlplane/controllers/ingress-status-controller.js';
import { startController, until } from './controller-harness.js';

const svcBackend = (name = 'web', port: Record<string, unknown> = { number: 80 }) => ({ service: { name, port } });
const ing = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'site', namespace: 'default', ...meta },
  spec,
});
const rule = (host: string | undefined, paths: unknown[]) => ({
  ...(host !== undefined ? { host } : {}),
  http: { paths },
});
const p = (path: string, pathType: string | undefined, backend: unknown = svcBackend()) => ({
  path,
  ...(pathType ? { pathType } : {}),
  backend,
});
const msgs = (obj: KubeObject, old?: KubeObject) => ingress.validate(obj, old).map((c) => `${c.field}: ${c.message}`);

const SUBDOMAIN_RE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const WILDCARD_RE =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe('ValidateIngress', () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    [
      'a valid rule set',
      ing({ rules: [rule('site.test', [p('/', 'Prefix'), p('/api', 'Exact'), p('', 'ImplementationSpecific')])] }),
      [],
    ],
    ['a default backend alone', ing({ defaultBackend: svcBackend() }), []],
    [
      'neither rules nor default backend',
      ing({}),
      ['spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified'],
    ],
    [
      'pathType missing',
      ing({ rules: [rule('a.test', [p('/', undefined)])] }),
      ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified'],
    ],
    [
      'pathType unknown',
      ing({ rules: [rule('a.test', [p('/', 'Regex')])] }),
      [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"',
      ],
    ],
    [
      'relative paths',
      ing({ rules: [rule('a.test', [p('x', 'Prefix'), p('y', 'ImplementationSpecific')])] }),
      [
        'spec.rules[0].http.paths[0].path: Invalid value: "x": must be an absolute path',
        'spec.rules[0].http.paths[1].path: Invalid value: "y": must be an absolute path',
      ],
    ],
    [
      'bad sequences',
      ing({ rules: [rule('a.test', [p('/a//b', 'Exact'), p('/a/..', 'Prefix'), p('/%2F', 'Prefix')])] }),
      [
        'spec.rules[0].http.paths[0].path: Invalid value: "/a//b": must not contain \'//\'',
        'spec.rules[0].http.paths[1].path: Invalid value: "/a/..": cannot end with \'/..\'',
        'spec.rules[0].http.paths[2].path: Invalid value: "/%2F": must not contain \'%2F\'',
      ],
    ],
    ['an empty http', ing({ rules: [rule('a.test', [])] }), ['spec.rules[0].http.paths: Required value']],
    [
      'hosts',
      ing({
        rules: [
          rule('1.2.3.4', [p('/', 'Prefix')]),
          rule('A.test', [p('/', 'Prefix')]),
          rule('*.ok.test', [p('/', 'Prefix')]),
          rule('a.*.test', [p('/', 'Prefix')]),
        ],
      }),
      [
        'spec.rules[0].host: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
        `spec.rules[1].host: Invalid value: "A.test": ${SUBDOMAIN_RE}`,
        `spec.rules[3].host: Invalid value: "a.*.test": ${WILDCARD_RE}`,
      ],
    ],
    [
      'backends',
      ing({
        rules: [
          rule('a.test', [
            p('/1', 'Prefix', {}),
            p('/2', 'Prefix', { ...svcBackend(), resource: { kind: 'Bucket', name: 'b' } }),
            p('/3', 'Prefix', svcBackend('Web')),
            p('/4', 'Prefix', svcBackend('web', { name: 'http', number: 80 })),
            p('/5', 'Prefix', svcBackend('web', {})),
            p('/6', 'Prefix', svcBackend('web', { number: 70000 })),
            p('/7', 'Prefix', {
              resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static-assets' },
            }),
            p('/8', 'Prefix', { resource: { kind: '', name: 'a/b' } }),
          ]),
        ],
      }),
      [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required',
        'spec.rules[0].http.paths[1].backend: Invalid value: "": cannot set both resource and service backends',
        "spec.rules[0].http.paths[2].backend.service.name: Invalid value: \"Web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        'spec.rules[0].http.paths[3].backend: Invalid value: "": cannot set both port name & port number',
        'spec.rules[0].http.paths[4].backend: Required value: port name or number is required',
        'spec.rules[0].http.paths[5].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive',
        'spec.rules[0].http.paths[7].backend.resource.kind: Required value: kind is required',
        'spec.rules[0].http.paths[7].backend.resource.name: Invalid value: "a/b": may not contain \'/\'',
      ],
    ],
    [
      'tls',
      ing({
        defaultBackend: svcBackend(),
        tls: [{ hosts: ['ok.test', '*.w.test', 'Bad', '*bad'], secretName: 'Nope_' }],
      }),
      [
        `spec.tls[0].hosts[2]: Invalid value: "Bad": ${SUBDOMAIN_RE}`,
        `spec.tls[0].hosts[3]: Invalid value: "*bad": ${WILDCARD_RE}`,
        `spec.tls[0].secretName: Invalid value: "Nope_": ${SUBDOMAIN_RE}`,
      ],
    ],
    [
      'class field and annotation disagree',
      ing(
        { defaultBackend: svcBackend(), ingressClassName: 'a' },
        { annotations: { 'kubernetes.io/ingress.class': 'b' } },
      ),
      [
        'annotations.kubernetes.io/ingress.class: Invalid value: "b": must match `ingressClassName` when both are specified',
      ],
    ],
  ];
  it.each(cases)('%s', (_n, obj, want) => expect(msgs(obj)).toEqual(want));

  it('an update may keep an invalid secret name it already had, not add one', () => {
    const bad = ing({ defaultBackend: svcBackend(), tls: [{ secretName: 'Old_' }] });
    expect(msgs(bad, bad)).toEqual([]);
    expect(msgs(bad, ing({ defaultBackend: svcBackend() }))).toHaveLength(1);
  });

  it('validates status addresses', () => {
    const o = ing({ defaultBackend: svcBackend() });
    o.status = { loadBalancer: { ingress: [{ ip: '10.0.0.1' }, { ip: 'nope' }, { hostname: '1.2.3.4' }] } };
    expect(ingress.validateStatus!(o, o).map((c) => `${c.field}: ${c.message}`)).toEqual([
      'status.loadBalancer.ingress[1].ip: Invalid value: "nope": must be a valid IP address',
      'status.loadBalancer.ingress[2].hostname: Invalid value: "1.2.3.4": must be a DNS name, not an IP address',
    ]);
  });
});

describe('ValidateIngressClass', () => {
  const ic = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'c' },
    spec,
  });
  const cases: Array<[string, KubeObject, KubeObject | undefined, string[]]> = [
    ["skiff's class", skiffIngressClassObject(), undefined, []],
    ['no controller', ic({}), undefined, ['spec.controller: Required value']],
    [
      'not domain-prefixed',
      ic({ controller: 'nginx' }),
      undefined,
      ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")'],
    ],
    [
      'controller changed',
      ic({ controller: 'b.io/x' }),
      ic({ controller: 'a.io/x' }),
      ['spec.controller: Invalid value: "b.io/x": field is immutable'],
    ],
    [
      'parameters without scope',
      ic({ controller: 'a.io/x', parameters: { kind: 'K', name: 'n' } }),
      undefined,
      ['spec.parameters.scope: Required value'],
    ],
    [
      'namespace scope without namespace',
      ic({ controller: 'a.io/x', parameters: { kind: 'K', name: 'n', scope: 'Namespace' } }),
      undefined,
      ["spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"],
    ],
    [
      'cluster scope with namespace',
      ic({ controller: 'a.io/x', parameters: { kind: 'K', name: 'n', scope: 'Cluster', namespace: 'x' } }),
      undefined,
      ["spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"],
    ],
    [
      'unknown scope',
      ic({ controller: 'a.io/x', parameters: { kind: 'K', name: 'n', scope: 'Global' } }),
      undefined,
      ['spec.parameters.scope: Unsupported value: "Global": supported values: "Cluster", "Namespace"'],
    ],
  ];
  it.each(cases)('%s', (_n, obj, old, want) =>
    expect(ingressClass.validate(obj, old).map((c) => `${c.field}: ${c.message}`)).toEqual(want),
  );

  it('defaults parameters.scope to Cluster and prints Kind.group/name', () => {
    const o = ic({
      controller: 'a.io/x',
      parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb' },
    });
    ingressClass.defaults!(o);
    expect(o.spec.parameters.scope).toBe('Cluster');
    expect(ingressClass.row(o, Date.now()).slice(0, 3)).toEqual([
      'c',
      'a.io/x',
      'IngressParameters.k8s.example.com/external-lb',
    ]);
    expect(ingressClass.row(skiffIngressClassObject(), Date.now()).slice(0, 3)).toEqual([
      'skiff',
      'skiff.io/ingress',
      '<none>',
    ]);
  });
});

describe('the Ingress row', () => {
  it.each([
    [[], '*'],
    [[{ host: 'a' }, {}], 'a'],
    [[{ host: 'a' }, { host: 'b' }, { host: 'c' }], 'a,b,c'],
    [[{ host: 'a' }, { host: 'b' }, { host: 'c' }, { host: 'd' }, { host: 'e' }], 'a,b,c + 2 more...'],
  ])('hosts %j → %s', (rules, want) => expect(formatHosts(rules)).toBe(want));

  it('CLASS, ADDRESS (unique, sorted) and PORTS', () => {
    const o = ing({
      ingressClassName: 'skiff',
      rules: [rule('site.test', [p('/', 'Prefix')])],
      tls: [{ hosts: ['site.test'] }],
    });
    o.status = {
      loadBalancer: { ingress: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }, { hostname: 'lb.test' }, { ip: '10.0.0.1' }] },
    };
    expect(ingress.row(o, Date.now()).slice(0, 5)).toEqual([
      'site',
      'skiff',
      'site.test',
      '10.0.0.1,10.0.0.2,lb.test',
      '80, 443',
    ]);
    expect(ingress.row(ing({ defaultBackend: svcBackend() }), Date.now()).slice(0, 5)).toEqual([
      'site',
      '<none>',
      '*',
      '',
      '80',
    ]);
  });
});

describe('through the write path', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  const ingDef = findResource('networking.k8s.io', 'v1', 'ingresses')!;
  const icDef = findResource('networking.k8s.io', 'v1', 'ingressclasses')!;

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
  });
  afterEach(() => store.close());

  it('seeds the skiff class once: a deleted class stays deleted', async () => {
    await seedClusterServices(storage, { serviceCidr: '10.43.0.0/16', clusterDns: '10.43.0.10', port: 6443 });
    const c = await storage.get(icDef, undefined, 'skiff');
    expect(c.spec).toEqual({ controller: 'skiff.io/ingress' });
    expect(c.metadata.annotations).toEqual({ 'ingressclass.kubernetes.io/is-default-class': 'true' });
    await storage.delete(icDef, undefined, 'skiff');
    await seedDefaultIngressClass(storage);
    expect(await storage.tryGet(icDef, undefined, 'skiff')).toBeUndefined();
  });

  it('DefaultIngressClass: the newest default class on create, nothing when a class or the annotation is given', async () => {
    await seedDefaultIngressClass(storage);
    const a = await storage.create(ingDef, 'default', ing({ defaultBackend: svcBackend() }, { name: 'a' }), {});
    expect(a.spec.ingressClassName).toBe('skiff');
    const b = await storage.create(
      ingDef,
      'default',
      ing({ defaultBackend: svcBackend() }, { name: 'b', annotations: { 'kubernetes.io/ingress.class': 'nginx' } }),
      {},
    );
    expect(b.spec.ingressClassName).toBeUndefined();
    const c = await storage.create(
      ingDef,
      'default',
      ing({ defaultBackend: svcBackend(), ingressClassName: 'other' }, { name: 'c' }),
      {},
    );
    expect(c.spec.ingressClassName).toBe('other');
    await new Promise((r) => setTimeout(r, 1100)); // creation timestamps have second resolution
    await storage.create(
      icDef,
      undefined,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'newer', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller: 'x.io/y' },
      },
      {},
    );
    const d = await storage.create(ingDef, 'default', ing({ defaultBackend: svcBackend() }, { name: 'd' }), {});
    expect(d.spec.ingressClassName).toBe('newer');
    // an update never sets it
    await storage.guaranteedUpdate(ingDef, 'default', 'b', {}, (cur) => cur);
    expect((await storage.get(ingDef, 'default', 'b')).spec.ingressClassName).toBeUndefined();
  });

  it('refuses an invalid Ingress with 422 and the causes', async () => {
    try {
      await storage.create(ingDef, 'default', ing({ rules: [rule('a.test', [p('/', undefined)])] }), {});
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).code).toBe(422);
    }
  });
});

describe('what reaches the agents (ingress-state.ts)', () => {
  const classes = [
    skiffIngressClassObject(),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'nginx' },
      spec: { controller: 'k8s.io/ingress-nginx' },
    },
  ];
  const mk = (
    name: string,
    namespace: string,
    spec: Record<string, unknown>,
    annotations?: Record<string, string>,
  ): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, uid: name, ...(annotations ? { annotations } : {}) },
    spec,
  });
  const secret = (namespace: string, name: string, type = 'kubernetes.io/tls'): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type,
    data: {
      'tls.crt': Buffer.from(`CERT ${namespace}/${name}`).toString('base64'),
      'tls.key': Buffer.from('KEY').toString('base64'),
    },
  });
  const secrets = [secret('a', 'ours'), secret('a', 'opaque', 'Opaque'), secret('b', 'theirs'), secret('b', 'ours')];
  const find = (ns: string, n: string) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === n);
  const ingresses = [
    mk('mine', 'a', {
      ingressClassName: 'skiff',
      rules: [rule('a.test', [p('/', 'Prefix'), p('/bucket', 'Prefix', { resource: { kind: 'B', name: 'b' } })])],
      tls: [{ hosts: ['a.test'], secretName: 'ours' }, { secretName: 'opaque' }, { secretName: 'missing' }],
    }),
    mk('nginx', 'b', { ingressClassName: 'nginx', defaultBackend: svcBackend(), tls: [{ secretName: 'theirs' }] }),
    mk(
      'annotated',
      'b',
      { defaultBackend: svcBackend('web', { name: 'http' }) },
      { 'kubernetes.io/ingress.class': 'skiff' },
    ),
    mk('classless', 'c', { defaultBackend: svcBackend() }),
  ];

  it("Ingresses of skiff's class (by field, annotation, or the default class), nothing for others", () => {
    expect(ownIngresses(ingresses, classes).map((i) => i.metadata.name)).toEqual(['mine', 'annotated', 'classless']);
    expect(ownIngresses(ingresses, [classes[1]!])).toEqual([]);
  });

  it('only kubernetes.io/tls Secrets named by an own Ingress in its namespace', () => {
    const st = ingressState(ingresses, classes, find, () => {});
    expect(st.ingressCerts).toEqual([{ namespace: 'a', name: 'ours', cert: 'CERT a/ours', key: 'KEY' }]);
    expect(st.ingresses!.map((i) => `${i.namespace}/${i.name}`)).toEqual(['a/mine', 'b/annotated', 'c/classless']);
    expect(st.ingresses![0]!.rules).toEqual([
      { host: 'a.test', paths: [{ path: '/', pathType: 'Prefix', backend: { service: 'web', port: 80 } }] },
    ]);
    expect(st.ingresses![1]!.defaultBackend).toEqual({ service: 'web', port: 'http' });
    expect(ingressState([], classes, find, () => {})).toEqual({});
  });
});

describe('ingress-status-controller', () => {
  const node = (name: string, addresses: { type: string; address: string }[], ready = true): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: {},
    status: { addresses, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });

  it.each([
    [
      'internal IPs of ready nodes',
      [
        node('a', [{ type: 'InternalIP', address: '10.0.0.2' }]),
        node('b', [{ type: 'InternalIP', address: '10.0.0.1' }]),
        node('c', [{ type: 'InternalIP', address: '10.0.0.3' }], false),
      ],
      [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
    ],
    [
      'external IPs win',
      [
        node('a', [
          { type: 'InternalIP', address: '10.0.0.2' },
          { type: 'ExternalIP', address: '203.0.113.5' },
        ]),
      ],
      [{ ip: '203.0.113.5' }],
    ],
  ])('%s', (_n, nodes, want) => expect(desiredIngressStatus(true, nodes)).toEqual(want));

  it('writes the nodes into status.loadBalancer of own Ingresses and clears it when the class changes', async () => {
    const h = await startController(createStatusController);
    try {
      const nodeDef = findResource('', 'v1', 'nodes')!;
      const ingDef = findResource('networking.k8s.io', 'v1', 'ingresses')!;
      await seedDefaultIngressClass(h.storage);
      const n = await h.storage.create(nodeDef, undefined, node('n1', []), {});
      await h.storage.guaranteedUpdate(
        nodeDef,
        undefined,
        'n1',
        {},
        (cur) => ({ ...cur, status: node('n1', [{ type: 'InternalIP', address: '192.168.1.10' }]).status }),
        'status',
      );
      expect(n.metadata.name).toBe('n1');
      await h.storage.create(ingDef, 'default', ing({ defaultBackend: svcBackend() }), {});
      await until(
        'status',
        async () =>
          (await h.storage.get(ingDef, 'default', 'site')).status?.loadBalancer?.ingress?.[0]?.ip === '192.168.1.10',
      );
      await h.storage.guaranteedUpdate(ingDef, 'default', 'site', {}, (cur) => ({
        ...cur,
        spec: { ...cur.spec, ingressClassName: 'elsewhere' },
      }));
      await until(
        'cleared',
        async () => (await h.storage.get(ingDef, 'default', 'site')).status?.loadBalancer?.ingress === undefined,
      );
    } finally {
      await h.stop();
    }
  });
});
