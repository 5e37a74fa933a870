import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { humanDuration } from '../../controlplane/resources/age.js';
import { cronScheduleError } from '../../controlplane/resources/cron-schedule.js';
import { findByKind, findResource, resources } from '../../controlplane/resources/index.js';
import { computePodQOS } from '../../controlplane/resources/qos.js';

const NOW = Date.parse('2026-11-22T14:00:00Z');
const ago = (ms: number): string => new Date(NOW - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

function def(group: string, kind: string) {
  const d = findByKind(group, kind);
  if (!d) throw new Error(`no ${kind}`);
  return d;
}

/** The storage layer's create order: prepareForCreate, defaults, validate. */
function create(
  group: string,
  kind: string,
  obj: KubeObject,
): { obj: KubeObject; causes: ReturnType<ReturnType<typeof def>['validate']> } {
  const d = def(group, kind);
  obj.metadata.uid ??= '7a1c5f7e-0000-4000-8000-000000000001';
  d.prepareForCreate?.(obj);
  d.defaults?.(obj);
  return { obj, causes: d.validate(obj) };
}

describe('catalogue', () => {
  it('finds kinds by resource and by kind', () => {
    expect(findResource('', 'v1', 'pods')?.kind).toBe('Pod');
    expect(findResource('apps', 'v1', 'deployments')?.shortNames).toEqual(['deploy']);
    expect(findResource('apps', 'v1', 'pods')).toBeUndefined();
    expect(findByKind('batch', 'CronJob')?.resource).toBe('cronjobs');
    expect(findByKind('', 'Deployment')).toBeUndefined();
  });

  it('advertises the full verb set, short names and the "all" category', () => {
    for (const r of resources)
      expect(r.verbs).toEqual(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
    const all = resources
      .filter((r) => r.categories.includes('all'))
      .map((r) => r.resource)
      .sort();
    expect(all).toEqual([
      'cronjobs',
      'daemonsets',
      'deployments',
      'horizontalpodautoscalers',
      'jobs',
      'pods',
      'replicasets',
      'replicationcontrollers',
      'services',
      'statefulsets',
    ]);
    expect(findResource('', 'v1', 'pods')?.subresources).toContain('eviction');
    expect(findResource('', 'v1', 'namespaces')?.subresources).toEqual(['status', 'finalize']);
  });

  it('has one cell per column for every kind', () => {
    for (const r of resources) {
      const obj: KubeObject = {
        metadata: { name: 'x', namespace: r.namespaced ? 'default' : undefined, creationTimestamp: ago(5 * M) },
      };
      r.prepareForCreate?.(obj);
      r.defaults?.(obj);
      expect(r.row(obj, NOW), r.kind).toHaveLength(r.columns.length);
      expect(r.columns[0].name === 'Name' || r.kind === 'Event').toBe(true);
    }
  });
});

describe('Deployment defaulting', () => {
  it('matches what kube-apiserver returns for a minimal Deployment', () => {
    const { obj, causes } = create('apps', 'Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
      },
    });
    expect(causes).toEqual([]);
    expect(obj.spec).toEqual({
      progressDeadlineSeconds: 600,
      replicas: 1,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'web' } },
        spec: {
          containers: [
            {
              image: 'nginx:1.27',
              imagePullPolicy: 'IfNotPresent',
              name: 'nginx',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              resources: {},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
            },
          ],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    });
    expect(obj.status).toEqual({});
  });

  it('keeps Recreate without rollingUpdate and defaults is idempotent', () => {
    const d = def('apps', 'Deployment');
    const obj: KubeObject = {
      metadata: { name: 'a' },
      spec: { strategy: { type: 'Recreate' }, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    d.defaults!(obj);
    const once = JSON.stringify(obj);
    d.defaults!(obj);
    expect(JSON.stringify(obj)).toBe(once);
    expect(obj.spec.strategy).toEqual({ type: 'Recreate' });
    expect(obj.spec.template.spec.containers[0].imagePullPolicy).toBe('Always');
  });
});

describe('pod defaulting and QoS', () => {
  it('fills pod-only defaults, admission tolerations and status', () => {
    const { obj, causes } = create('', 'Pod', {
      metadata: { name: 'p', namespace: 'default' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.local/app@sha256:abc',
            resources: { limits: { cpu: '500m', memory: '128Mi' } },
            readinessProbe: { httpGet: { port: 8080 } },
            env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          },
        ],
        volumes: [{ name: 'scratch' }],
      },
    });
    expect(causes).toEqual([]);
    const c = obj.spec.containers[0];
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.resources.requests).toEqual({ cpu: '500m', memory: '128Mi' });
    expect(c.readinessProbe).toEqual({
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(c.env[0].valueFrom.fieldRef.apiVersion).toBe('v1');
    expect(obj.spec.volumes[0]).toEqual({ name: 'scratch', emptyDir: {} });
    expect(obj.spec).toMatchObject({
      enableServiceLinks: true,
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
      serviceAccountName: 'default',
    });
    expect(obj.spec.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
    ]);
    expect(obj.status).toEqual({ phase: 'Pending', qosClass: 'Guaranteed' });
  });

  it.each([
    ['BestEffort', [{ name: 'a' }]],
    [
      'Guaranteed',
      [{ name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1000m', memory: '1Gi' } } }],
    ],
    ['Burstable', [{ name: 'a', resources: { requests: { cpu: '100m' } } }]],
    [
      'Burstable',
      [{ name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } } }],
    ],
    [
      'Burstable',
      [
        { name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } },
        { name: 'b' },
      ],
    ],
    ['BestEffort', [{ name: 'a', resources: { requests: { cpu: '0' } } }]],
    ['BestEffort', [{ name: 'a', resources: { requests: { 'ephemeral-storage': '1Gi' } } }]],
  ] as const)('%s for %j', (qos, containers) => {
    expect(computePodQOS({ containers })).toBe(qos);
  });
});

describe('pod validation', () => {
  const validate = (spec: any, name = 'p') =>
    def('', 'Pod').validate({ metadata: { name, namespace: 'default' }, spec: prep(spec) });
  const prep = (spec: any): any => {
    const obj: KubeObject = { metadata: { name: 'p' }, spec };
    def('', 'Pod').defaults!(obj);
    return obj.spec;
  };

  it('requires containers', () => {
    expect(validate({ containers: [] })).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' },
    ]);
  });

  it('rejects duplicate container names', () => {
    expect(
      validate({
        containers: [
          { name: 'a', image: 'x' },
          { name: 'a', image: 'y' },
        ],
      }),
    ).toEqual([{ reason: 'FieldValueDuplicate', message: 'Duplicate value: "a"', field: 'spec.containers[1].name' }]);
  });

  it('rejects a bad pod name with the apimachinery message', () => {
    expect(validate({ containers: [{ name: 'a', image: 'x' }] }, 'Bad_Name')).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message:
          "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      },
    ]);
  });

  it('checks container names, images, ports, policies and resources', () => {
    const causes = validate({
      restartPolicy: 'Sometimes',
      containers: [
        {
          name: 'Web',
          image: '',
          ports: [{ containerPort: 70000 }],
          resources: { requests: { cpu: '2' }, limits: { cpu: '1' } },
        },
      ],
    });
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      'spec.containers[0].image: Required value',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('requires metadata.name unless generateName is set', () => {
    const d = def('', 'Pod');
    const spec = prep({ containers: [{ name: 'a', image: 'x' }] });
    expect(d.validate({ metadata: { namespace: 'default' }, spec })).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ]);
    expect(d.validate({ metadata: { generateName: 'web-', namespace: 'default' }, spec })).toEqual([]);
  });

  it('validates label keys and values', () => {
    const d = def('', 'Pod');
    const causes = d.validate({
      metadata: { name: 'p', namespace: 'default', labels: { 'a/b/c': 'ok', k: 'bad value' } },
      spec: prep({ containers: [{ name: 'a', image: 'x' }] }),
    });
    expect(causes.map((c) => c.field)).toEqual(['metadata.labels', 'metadata.labels']);
    expect(causes[0].message).toContain("a qualified name must consist of alphanumeric characters, '-', '_' or '.'");
    expect(causes[1].message).toMatch(/^Invalid value: "bad value": a valid label must be an empty string/);
  });

  it('forbids spec changes other than images on update', () => {
    const d = def('', 'Pod');
    const old: KubeObject = {
      metadata: { name: 'p', namespace: 'default' },
      spec: prep({ containers: [{ name: 'a', image: 'x:1' }] }),
    };
    const imageOnly: KubeObject = structuredClone(old);
    imageOnly.spec.containers[0].image = 'x:2';
    expect(d.validate(imageOnly, old)).toEqual([]);
    const ports: KubeObject = structuredClone(old);
    ports.spec.containers[0].ports = [{ containerPort: 80, protocol: 'TCP' }];
    const causes = d.validate(ports, old);
    expect(causes).toHaveLength(1);
    expect(causes[0].field).toBe('spec');
    expect(causes[0].message).toMatch(
      /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,/,
    );
  });
});

describe('workload validation', () => {
  it('reports a selector that does not match the template labels', () => {
    const { causes } = create('apps', 'Deployment', {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    expect(causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
      },
    ]);
  });

  it('requires a selector and a template restartPolicy of Always', () => {
    const { causes } = create('apps', 'ReplicaSet', {
      metadata: { name: 'rs', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual(['spec.selector: Required value']);
    const job = create('apps', 'StatefulSet', {
      metadata: { name: 'db', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'pg' }] },
        },
      },
    });
    expect(job.causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]);
  });

  it('makes the apps/v1 selector immutable', () => {
    const d = def('apps', 'Deployment');
    const { obj: old } = create('apps', 'Deployment', {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', v: '2' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    });
    const next = structuredClone(old);
    next.spec.selector = { matchLabels: { app: 'web', v: '2' } };
    expect(d.validate(next, old)).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec.selector',
        message:
          'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
      },
    ]);
  });

  it('generates the Job selector and labels after the uid is known', () => {
    const { obj, causes } = create('batch', 'Job', {
      metadata: { name: 'pi', namespace: 'default', uid: 'u-1' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } },
    });
    expect(causes).toEqual([]);
    expect(obj.spec.selector).toEqual({ matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
    expect(obj.spec.template.metadata.labels).toEqual({
      'batch.kubernetes.io/controller-uid': 'u-1',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': 'u-1',
      'job-name': 'pi',
    });
    expect(obj.metadata.labels).toEqual(obj.spec.template.metadata.labels);
    expect(obj.spec).toMatchObject({
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
    });
    expect(obj.spec.manualSelector).toBeUndefined();
  });

  it('rejects a Job whose pods would restart Always', () => {
    const { causes } = create('batch', 'Job', {
      metadata: { name: 'j', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
    ]);
  });

  it('validates CronJob schedules like robfig/cron', () => {
    expect(cronScheduleError('*/5 * * * *')).toBeUndefined();
    expect(cronScheduleError('0 9-17 * JAN-jun mon,wed,FRI')).toBeUndefined();
    expect(cronScheduleError('@hourly')).toBeUndefined();
    expect(cronScheduleError('@every 1h30m')).toBeUndefined();
    expect(cronScheduleError('* * * *')).toBe('expected exactly 5 fields, found 4: [* * * *]');
    expect(cronScheduleError('60 * * * *')).toBe('end of range (60) above maximum (59): 60');
    expect(cronScheduleError('@fortnightly')).toBe('unrecognized descriptor: @fortnightly');
    expect(cronScheduleError('x * * * *')).toBe(
      'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax',
    );
    const { obj, causes } = create('batch', 'CronJob', {
      metadata: { name: 'c', namespace: 'default' },
      spec: {
        schedule: '',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'x' }] } } },
        },
      },
    });
    expect(causes.map((c) => `${c.field}: ${c.message}`)).toEqual(['spec.schedule: Required value']);
    expect(obj.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(obj.spec.jobTemplate.spec.backoffLimit).toBeUndefined();
  });
});

describe('other kinds', () => {
  it('defaults Services and validates their ports', () => {
    const { obj, causes } = create('', 'Service', {
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, nodePort: 30080 }] },
    });
    expect(causes).toEqual([]);
    expect(obj.spec).toMatchObject({
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      ipFamilyPolicy: 'SingleStack',
      ipFamilies: ['IPv4'],
      ports: [{ port: 80, nodePort: 30080, protocol: 'TCP', targetPort: 80 }],
    });
    obj.spec.clusterIP = '10.43.0.10';
    expect(def('', 'Service').row(obj, NOW)).toEqual([
      'web',
      'NodePort',
      '10.43.0.10',
      '<none>',
      '80:30080/TCP',
      '<unknown>',
      'app=web',
    ]);
    const bad = create('', 'Service', {
      metadata: { name: 'svc', namespace: 'default' },
      spec: { ports: [{ port: 80, nodePort: 80 }, { port: 81 }] },
    });
    expect(bad.causes.map((c) => `${c.field}: ${c.message}`)).toEqual([
      'spec.ports[0].name: Required value',
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
      'spec.ports[1].name: Required value',
    ]);
  });

  it('folds Secret stringData into base64 data', () => {
    const { obj, causes } = create('', 'Secret', {
      metadata: { name: 's', namespace: 'default' },
      stringData: { password: 'hunter2' },
    });
    expect(causes).toEqual([]);
    expect(obj).toMatchObject({ type: 'Opaque', data: { password: 'aHVudGVyMg==' } });
    expect(obj.stringData).toBeUndefined();
  });

  it('keeps immutable ConfigMaps unchanged', () => {
    const d = def('', 'ConfigMap');
    const old: KubeObject = { metadata: { name: 'c', namespace: 'default' }, data: { a: '1' }, immutable: true };
    expect(d.validate({ ...old, data: { a: '2' } }, old).map((c) => `${c.field}: ${c.message}`)).toEqual([
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);
    expect(
      d.validate({ metadata: { name: 'c', namespace: 'default' }, data: { 'bad key': 'x' } })[0].message,
    ).toContain("a valid config key must consist of alphanumeric characters, '-', '_' or '.'");
  });

  it('gives Namespaces their label, finalizer and phase', () => {
    const { obj, causes } = create('', 'Namespace', { metadata: { name: 'demo' } });
    expect(causes).toEqual([]);
    expect(obj).toMatchObject({
      metadata: { labels: { 'kubernetes.io/metadata.name': 'demo' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    expect(create('', 'Namespace', { metadata: { name: 'a.b' } }).causes[0].message).toBe(
      'Invalid value: "a.b": must not contain dots',
    );
  });
});

describe('tables', () => {
  const pod = (status: any, extra: any = {}): KubeObject => ({
    metadata: { name: 'web-1', namespace: 'default', creationTimestamp: ago(5 * M), ...extra.metadata },
    spec: { containers: [{ name: 'app', image: 'nginx' }], nodeName: 'node-1', ...extra.spec },
    status,
  });
  const row = (p: KubeObject) => def('', 'Pod').row(p, NOW).slice(0, 5);
  const running = { running: { startedAt: ago(4 * M) } };

  it.each([
    ['Pending', pod({ phase: 'Pending' }), ['web-1', '0/1', 'Pending', '0', '5m']],
    [
      'Running 1/1',
      pod({ phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }] }),
      ['web-1', '1/1', 'Running', '0', '5m'],
    ],
    [
      'CrashLoopBackOff',
      pod({
        phase: 'Running',
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(2 * M) } },
          },
        ],
      }),
      ['web-1', '0/1', 'CrashLoopBackOff', '3 (2m ago)', '5m'],
    ],
    [
      'Terminating',
      pod(
        { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, state: running }] },
        { metadata: { deletionTimestamp: ago(10 * S) } },
      ),
      ['web-1', '1/1', 'Terminating', '0', '5m'],
    ],
    [
      'Completed',
      pod({
        phase: 'Succeeded',
        containerStatuses: [{ name: 'app', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      }),
      ['web-1', '0/1', 'Completed', '0', '5m'],
    ],
    [
      'Init:0/1',
      pod(
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'init', ready: false, state: { running: {} } }],
          containerStatuses: [{ name: 'app', state: { waiting: { reason: 'PodInitializing' } } }],
        },
        { spec: { initContainers: [{ name: 'init', image: 'busybox' }] } },
      ),
      ['web-1', '0/1', 'Init:0/1', '0', '5m'],
    ],
    [
      'Init:Error',
      pod(
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'init', restartCount: 1, state: { terminated: { exitCode: 1, reason: 'Error' } } },
          ],
        },
        { spec: { initContainers: [{ name: 'init', image: 'busybox' }] } },
      ),
      ['web-1', '0/1', 'Init:Error', '1', '5m'],
    ],
  ])('pod row: %s', (_name, p, expected) => {
    expect(row(p)).toEqual(expected);
  });

  it('pod wide cells', () => {
    const p = pod({ phase: 'Running', podIPs: [{ ip: '10.42.0.7' }] });
    expect(def('', 'Pod').row(p, NOW).slice(5)).toEqual(['10.42.0.7', 'node-1', '<none>', '<none>']);
    expect(def('', 'Pod').columns.map((c) => `${c.name}${c.priority ? '¹' : ''}`)).toEqual([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP¹',
      'Node¹',
      'Nominated Node¹',
      'Readiness Gates¹',
    ]);
  });

  it.each([
    [{ conditions: [{ type: 'Ready', status: 'True' }] }, false, 'Ready'],
    [{ conditions: [{ type: 'Ready', status: 'True' }] }, true, 'Ready,SchedulingDisabled'],
    [{ conditions: [{ type: 'Ready', status: 'Unknown' }] }, false, 'NotReady'],
    [{}, true, 'Unknown,SchedulingDisabled'],
  ])('node status %j unschedulable=%s → %s', (status, unschedulable, expected) => {
    const node: KubeObject = {
      metadata: { name: 'n1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable },
      status,
    };
    const cells = def('', 'Node').row(node, NOW);
    expect(cells[1]).toBe(expected);
    expect(cells[2]).toBe('control-plane');
  });

  it('job and event rows', () => {
    const job: KubeObject = {
      metadata: { name: 'pi', creationTimestamp: ago(3 * M) },
      spec: {
        completions: 1,
        parallelism: 1,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
        template: { spec: { containers: [{ name: 'pi', image: 'perl' }] } },
      },
      status: {
        succeeded: 1,
        startTime: ago(3 * M),
        completionTime: ago(2 * M),
        conditions: [{ type: 'Complete', status: 'True' }],
      },
    };
    expect(def('batch', 'Job').row(job, NOW)).toEqual([
      'pi',
      'Complete',
      '1/1',
      '60s',
      '3m',
      'pi',
      'perl',
      'batch.kubernetes.io/controller-uid=u',
    ]);
    const ev: KubeObject = {
      metadata: { name: 'web-1.abc', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' },
      reason: 'Pulled',
      type: 'Normal',
      message: 'Pulled image ',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: ago(2 * D),
      lastTimestamp: ago(90 * S),
      count: 4,
    };
    expect(def('', 'Event').row(ev, NOW)).toEqual([
      '90s',
      'Normal',
      'Pulled',
      'pod/web-1',
      'spec.containers{app}',
      'kubelet, node-1',
      'Pulled image',
      '2d',
      4,
      'web-1.abc',
    ]);
  });

  it.each([
    [0, '0s'],
    [-1500, '0s'],
    [-3 * S, '<invalid>'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [5 * M + 30 * S, '5m30s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D, '7d'],
    [8 * D + 5 * H, '8d'],
    [729 * D, '729d'],
    [2 * 365 * D + 45 * D, '2y45d'],
    [9 * 365 * D, '9y'],
  ])('HumanDuration(%d ms) = %s', (ms, s) => {
    expect(humanDuration(ms)).toBe(s);
  });

  it('age is <unknown> without a creationTimestamp', () => {
    expect(def('', 'ConfigMap').row({ metadata: { name: 'c' }, data: { a: '1' } }, NOW)).toEqual(['c', 1, '<unknown>']);
  });
});
