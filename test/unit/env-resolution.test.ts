// Container environment as kubelet's makeEnvironmentVariables builds it: ConfigMap/Secret
// key refs and envFrom (optional semantics, kubelet's messages, invalid names skipped),
// $(VAR) expansion, and service link variables (getServiceEnvVarMap / FromServices).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import type { NetService } from '../../proto/agent-protocol.js';
import {
  ContainerConfigError,
  envReferences,
  isEnvVarName,
  resolveEnv,
  type EnvSources,
} from '../../agent/pods/env.js';
import { serviceEnvMap, serviceEnvVars, servicesForPod } from '../../agent/pods/service-env.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const pod = (extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns1', uid: 'u1', labels: { app: 'x' } },
    spec: { containers: [{ name: 'c', image: 'i', resources: { limits: { cpu: '500m', memory: '64Mi' } } }], ...extra },
  }) as KubeObject;
const ctx = { podIP: '10.0.0.5', hostIP: '192.168.1.2', nodeName: 'n1' };
const cm = (name: string, data: Record<string, string>): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns1', uid: name }, data }) as KubeObject;
const secret = (name: string, data: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'ns1', uid: name },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  }) as KubeObject;
const sources = (
  cms: Record<string, KubeObject | null>,
  secrets: Record<string, KubeObject | null> = {},
  services?: Record<string, string>,
): EnvSources => ({
  configMaps: new Map(Object.entries(cms)),
  secrets: new Map(Object.entries(secrets)),
  services,
});
const svc = (
  namespace: string,
  name: string,
  clusterIP: string | undefined,
  ports: NetService['ports'],
  extra: Partial<NetService> = {},
): NetService => ({
  namespace,
  name,
  type: 'ClusterIP',
  clusterIP,
  ports,
  endpoints: [],
  ...extra,
});

describe('env from ConfigMaps and Secrets', () => {
  it('lists what a container references', () => {
    const refs = envReferences({
      env: [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm1', key: 'a' } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 's1', key: 'b' } } },
        { name: 'C', value: 'c' },
      ],
      envFrom: [{ configMapRef: { name: 'cm2' } }, { secretRef: { name: 's2' } }],
    });
    expect([...refs.configMaps].sort()).toEqual(['cm1', 'cm2']);
    expect([...refs.secrets].sort()).toEqual(['s1', 's2']);
  });

  it('resolves configMapKeyRef and secretKeyRef (secret data decoded from base64)', () => {
    const c = {
      name: 'c',
      env: [
        { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'level' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'BOTH', value: '$(LEVEL)-$(PASSWORD)-$(MISSING)' },
      ],
    };
    const r = resolveEnv(
      pod(),
      c,
      ctx,
      sources({ cfg: cm('cfg', { level: 'debug' }) }, { creds: secret('creds', { password: 's3cr€t' }) }),
    );
    expect(r.env).toMatchObject({ LEVEL: 'debug', PASSWORD: 's3cr€t', BOTH: 'debug-s3cr€t-$(MISSING)' });
    expect(r.warnings).toEqual([]);
  });

  it("fails with kubelet's messages for a missing object or key, unless optional", () => {
    const ref = (optional?: boolean) => ({
      name: 'c',
      env: [
        {
          name: 'X',
          valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k', ...(optional === undefined ? {} : { optional }) } },
        },
      ],
    });
    expect(() => resolveEnv(pod(), ref(), ctx, sources({ cfg: null }))).toThrow(
      new ContainerConfigError('configmap "cfg" not found'),
    );
    expect(() => resolveEnv(pod(), ref(false), ctx, sources({ cfg: cm('cfg', {}) }))).toThrow(
      "couldn't find key k in ConfigMap ns1/cfg",
    );
    expect(resolveEnv(pod(), ref(true), ctx, sources({ cfg: null })).env).not.toHaveProperty('X');
    expect(resolveEnv(pod(), ref(true), ctx, sources({ cfg: cm('cfg', {}) })).env).not.toHaveProperty('X');
    const sref = { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }] };
    expect(() => resolveEnv(pod(), sref, ctx, sources({}, { sec: null }))).toThrow('secret "sec" not found');
    expect(() => resolveEnv(pod(), sref, ctx, sources({}, { sec: secret('sec', { other: '1' }) }))).toThrow(
      "couldn't find key k in Secret ns1/sec",
    );
  });

  it('envFrom: every key with the prefix, later sources and env entries override, invalid names skipped with a warning', () => {
    const c = {
      name: 'c',
      envFrom: [
        { configMapRef: { name: 'cfg' } },
        { prefix: 'DB_', secretRef: { name: 'db' } },
        { configMapRef: { name: 'gone', optional: true } },
      ],
      env: [
        { name: 'MODE', value: 'explicit' },
        { name: 'URL', value: 'u=$(DB_USER)' },
      ],
    };
    const r = resolveEnv(
      pod(),
      c,
      ctx,
      sources(
        { cfg: cm('cfg', { MODE: 'fromcm', 'bad key': 'x', '1digit': 'y', 'ok.dotted-name': 'z' }), gone: null },
        { db: secret('db', { USER: 'admin', 'has space': 'q' }) },
      ),
    );
    expect(r.env).toMatchObject({ MODE: 'explicit', DB_USER: 'admin', URL: 'u=admin', 'ok.dotted-name': 'z' });
    expect(r.env).not.toHaveProperty('bad key');
    expect(r.env).not.toHaveProperty('1digit');
    expect(r.warnings).toEqual([
      {
        reason: 'InvalidEnvironmentVariableNames',
        message:
          'Keys [1digit, bad key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.',
      },
      {
        reason: 'InvalidEnvironmentVariableNames',
        message:
          'Keys [DB_has space] from the EnvFrom secret ns1/db were skipped since they are considered invalid environment variable names.',
      },
    ]);
    expect(() =>
      resolveEnv(pod(), { name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, ctx, sources({}, { nope: null })),
    ).toThrow('secret "nope" not found');
  });

  it('fieldRef and resourceFieldRef (divisor 0, the API default, counts as 1)', () => {
    const c = {
      name: 'c',
      resources: { limits: { cpu: '500m', memory: '64Mi' } },
      env: [
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } } },
        { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      ],
    };
    expect(resolveEnv(pod(), c, ctx).env).toMatchObject({
      NAME: 'p',
      APP: 'x',
      IP: '10.0.0.5',
      CPU: '1',
      CPU_M: '500',
      MEM_MI: '64',
    });
  });

  it('a variable named __proto__ is an ordinary variable', () => {
    const r = resolveEnv(
      pod(),
      {
        name: 'c',
        env: [
          { name: '__proto__', value: 'v' },
          { name: 'Y', value: '$(__proto__)' },
        ],
      },
      ctx,
    );
    expect(Object.entries(r.env)).toEqual([
      ['__proto__', 'v'],
      ['Y', 'v'],
    ]);
  });

  it('isEnvVarName', () => {
    for (const ok of ['A', '_a', 'a.b-c', '-x', 'x1']) expect(isEnvVarName(ok)).toBe(true);
    for (const bad of ['', '1a', 'a b', 'a=b', 'ä']) expect(isEnvVarName(bad)).toBe(false);
  });
});

describe('service link variables', () => {
  const services = [
    svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', protocol: 'TCP', port: 443 }]),
    svc('ns1', 'my-db', '10.43.0.20', [
      { name: '', protocol: 'TCP', port: 5432 },
      { name: 'metrics-port', protocol: 'UDP', port: 9187 },
    ]),
    svc('ns1', 'headless', undefined, [{ name: 'x', protocol: 'TCP', port: 80 }], { headless: true }),
    svc('ns1', 'ext', undefined, [], { type: 'ExternalName', externalName: 'example.com' }),
    svc('other', 'elsewhere', '10.43.0.30', [{ name: 'http', protocol: 'TCP', port: 80 }]),
  ];

  it('FromServices: host, ports, named ports and the Docker link variables', () => {
    expect(Object.fromEntries(serviceEnvVars([services[1]!]))).toEqual({
      MY_DB_SERVICE_HOST: '10.43.0.20',
      MY_DB_SERVICE_PORT: '5432',
      MY_DB_SERVICE_PORT_METRICS_PORT: '9187',
      MY_DB_PORT: 'tcp://10.43.0.20:5432',
      MY_DB_PORT_5432_TCP: 'tcp://10.43.0.20:5432',
      MY_DB_PORT_5432_TCP_PROTO: 'tcp',
      MY_DB_PORT_5432_TCP_PORT: '5432',
      MY_DB_PORT_5432_TCP_ADDR: '10.43.0.20',
      MY_DB_PORT_9187_UDP: 'udp://10.43.0.20:9187',
      MY_DB_PORT_9187_UDP_PROTO: 'udp',
      MY_DB_PORT_9187_UDP_PORT: '9187',
      MY_DB_PORT_9187_UDP_ADDR: '10.43.0.20',
    });
  });

  it("the pod's namespace (not headless, not ExternalName, not other namespaces) plus the master service", () => {
    expect(
      servicesForPod(services, 'ns1', true)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['kubernetes', 'my-db']);
    // enableServiceLinks: false keeps only the master service
    expect(servicesForPod(services, 'ns1', false).map((s) => s.name)).toEqual(['kubernetes']);
    const env = serviceEnvMap(services, 'ns1', true);
    expect(env.KUBERNETES_SERVICE_HOST).toBe('10.43.0.1');
    expect(env.KUBERNETES_SERVICE_PORT).toBe('443');
    expect(env.KUBERNETES_SERVICE_PORT_HTTPS).toBe('443');
    expect(env.KUBERNETES_PORT).toBe('tcp://10.43.0.1:443');
    expect(
      Object.keys(env).some((k) => k.startsWith('HEADLESS_') || k.startsWith('EXT_') || k.startsWith('ELSEWHERE_')),
    ).toBe(false);
    // a `kubernetes` service in the pod's own namespace wins over the master one
    const own = serviceEnvMap(
      [...services, svc('ns1', 'kubernetes', '10.43.0.99', [{ name: '', protocol: 'TCP', port: 1 }])],
      'ns1',
      true,
    );
    expect(own.KUBERNETES_SERVICE_HOST).toBe('10.43.0.99');
  });

  it('explicit env overrides service variables and can expand them', () => {
    const c = {
      name: 'c',
      env: [
        { name: 'MY_DB_SERVICE_HOST', value: 'override' },
        { name: 'DB', value: '$(MY_DB_PORT)/x' },
      ],
    };
    const r = resolveEnv(pod(), c, ctx, sources({}, {}, serviceEnvMap(services, 'ns1', true)));
    expect(r.env.MY_DB_SERVICE_HOST).toBe('override');
    expect(r.env.DB).toBe('tcp://10.43.0.20:5432/x');
    expect(r.env.KUBERNETES_SERVICE_HOST).toBe('10.43.0.1');
  });
});
