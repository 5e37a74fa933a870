// The audit Policy as kube-apiserver's checker judges it: first matching rule wins, users,
// groups, verbs, resources with subresource and name forms, namespaces, non-resource URL
// wildcards, omitStages unioned with the policy's; and the validation that stops a start.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, evaluatePolicy, parsePolicy, type AuditAttributes } from '../../controlplane/audit/policy.js';

const POLICY = `
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
  - level: None
    nonResourceURLs: ["/healthz*", "/version"]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["pods/log", "pods/status"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps"]
  - level: Request
    resources:
      - group: ""
        resources: ["configmaps"]
        resourceNames: ["controller-leader"]
  - level: Request
    userGroups: ["dev"]
    namespaces: ["kube-system"]
  - level: RequestResponse
    resources:
      - group: apps
        resources: ["*/scale"]
      - group: batch
        resources: ["jobs/*"]
  - level: Metadata
    omitStages: [ResponseStarted]
    resources:
      - group: ""
      - group: "rbac.authorization.k8s.io"
  - level: Request
`;

const user = (name: string, ...groups: string[]) => ({ name, groups: [...groups, 'system:authenticated'] });
const res = (verb: string, resource: string, o: Partial<AuditAttributes> = {}): AuditAttributes => ({
  user: user('alice'),
  verb,
  resourceRequest: true,
  path: '',
  apiGroup: '',
  namespace: 'default',
  resource,
  subresource: '',
  name: '',
  ...o,
});
const nonRes = (path: string, o: Partial<AuditAttributes> = {}): AuditAttributes => ({
  user: user('alice'),
  verb: 'get',
  resourceRequest: false,
  path,
  apiGroup: '',
  namespace: '',
  resource: '',
  subresource: '',
  name: '',
  ...o,
});

describe('evaluatePolicy', () => {
  const p = parsePolicy(POLICY, 'test.yaml');
  const cases: [string, AuditAttributes, string, string[]][] = [
    [
      'kube-proxy watch is not logged',
      res('watch', 'endpoints', { user: user('system:kube-proxy') }),
      'None',
      ['RequestReceived'],
    ],
    [
      'kube-proxy list falls through to the core group rule',
      res('list', 'endpoints', { user: user('system:kube-proxy') }),
      'Metadata',
      ['RequestReceived', 'ResponseStarted'],
    ],
    ['/healthz/etcd by trailing wildcard', nonRes('/healthz/etcd'), 'None', ['RequestReceived']],
    ['/version exactly', nonRes('/version'), 'None', ['RequestReceived']],
    ['/versions is not /version', nonRes('/versions'), 'Request', ['RequestReceived']],
    [
      'pods/log by resource/subresource',
      res('get', 'pods', { subresource: 'log', name: 'p' }),
      'RequestResponse',
      ['RequestReceived'],
    ],
    [
      'pods alone do not match pods/log',
      res('get', 'pods', { name: 'p' }),
      'Metadata',
      ['RequestReceived', 'ResponseStarted'],
    ],
    [
      'secrets at Metadata, first match wins over later rules',
      res('get', 'secrets', { name: 's' }),
      'Metadata',
      ['RequestReceived'],
    ],
    [
      'configmaps with a name still hit the earlier Metadata rule',
      res('get', 'configmaps', { name: 'controller-leader' }),
      'Metadata',
      ['RequestReceived'],
    ],
    [
      'dev group in kube-system',
      res('create', 'deployments', { apiGroup: 'apps', namespace: 'kube-system', user: user('bob', 'dev') }),
      'Request',
      ['RequestReceived'],
    ],
    [
      'dev group elsewhere falls through',
      res('create', 'deployments', { apiGroup: 'apps', namespace: 'demo', user: user('bob', 'dev') }),
      'Request',
      ['RequestReceived'],
    ],
    [
      '*/scale matches deployments/scale',
      res('update', 'deployments', { apiGroup: 'apps', subresource: 'scale', name: 'd' }),
      'RequestResponse',
      ['RequestReceived'],
    ],
    [
      '*/scale does not match deployments',
      res('update', 'deployments', { apiGroup: 'apps', name: 'd' }),
      'Request',
      ['RequestReceived'],
    ],
    [
      'jobs/* matches jobs/status',
      res('update', 'jobs', { apiGroup: 'batch', subresource: 'status', name: 'j' }),
      'RequestResponse',
      ['RequestReceived'],
    ],
    [
      'a group with no resources matches all of it',
      res('delete', 'clusterroles', { apiGroup: 'rbac.authorization.k8s.io', namespace: '' }),
      'Metadata',
      ['RequestReceived', 'ResponseStarted'],
    ],
    [
      'no user (failed authentication) skips user rules',
      res('watch', 'endpoints', { user: undefined }),
      'Metadata',
      ['RequestReceived', 'ResponseStarted'],
    ],
    ['non-resource request never matches resource rules', nonRes('/api'), 'Request', ['RequestReceived']],
  ];
  it.each(cases)('%s', (_name, attrs, level, omit) => {
    const c = evaluatePolicy(p, attrs);
    expect(c.level).toBe(level);
    expect([...c.omitStages].sort()).toEqual([...omit].sort());
  });

  it('no rule matching: None with the policy omitStages', () => {
    const q = parsePolicy(
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [Panic]\nrules:\n- level: Metadata\n  verbs: [get]\n',
    );
    expect(evaluatePolicy(q, res('list', 'pods'))).toEqual({ level: 'None', omitStages: ['Panic'] });
  });

  it('resourceNames restrict a resource rule', () => {
    const q = parsePolicy(
      '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Request","resources":[{"group":"","resources":["configmaps"],"resourceNames":["a"]}]}]}',
    );
    expect(evaluatePolicy(q, res('get', 'configmaps', { name: 'a' })).level).toBe('Request');
    expect(evaluatePolicy(q, res('get', 'configmaps', { name: 'b' })).level).toBe('None');
    expect(evaluatePolicy(q, res('list', 'configmaps')).level).toBe('None');
  });

  it('the default policy logs everything at Metadata and omits RequestReceived', () => {
    expect(evaluatePolicy(DEFAULT_POLICY, res('list', 'pods'))).toEqual({
      level: 'Metadata',
      omitStages: ['RequestReceived'],
    });
    expect(evaluatePolicy(DEFAULT_POLICY, nonRes('/healthz', { user: undefined })).level).toBe('Metadata');
  });
});

describe('parsePolicy refuses what kube-apiserver refuses', () => {
  const head = 'apiVersion: audit.k8s.io/v1\nkind: Policy\n';
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'rules: [', /not valid YAML or JSON/],
    [
      'wrong kind',
      'apiVersion: v1\nkind: ConfigMap\n',
      /want kind "Policy" of apiVersion "audit.k8s.io\/v1", got kind "ConfigMap"/,
    ],
    [
      'old apiVersion',
      'apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]\n',
      /apiVersion "audit.k8s.io\/v1beta1"/,
    ],
    ['no rules', `${head}rules: []\n`, /loaded illegal policy with 0 rules from file/],
    ['missing level', `${head}rules:\n- verbs: [get]\n`, /rules\[0\]\.level: Required value/],
    [
      'bad level',
      `${head}rules:\n- level: Everything\n`,
      /rules\[0\]\.level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"/,
    ],
    [
      'bad stage',
      `${head}omitStages: [Received]\nrules:\n- level: None\n`,
      /omitStages\[0\]: Unsupported value: "Received"/,
    ],
    [
      'resources and URLs together',
      `${head}rules:\n- level: None\n  nonResourceURLs: [/x]\n  resources: [{group: ""}]\n`,
      /rules cannot apply to both regular resources and non-resource URLs/,
    ],
    [
      'URL without slash',
      `${head}rules:\n- level: None\n  nonResourceURLs: [healthz]\n`,
      /must begin with a '\/' character/,
    ],
    [
      'wildcard in the middle',
      `${head}rules:\n- level: None\n  nonResourceURLs: ["/a*/b"]\n`,
      /wildcards '\*' must be the final character/,
    ],
    [
      'a typo in a field',
      `${head}rules:\n- level: None\n  userGroup: [dev]\n`,
      /rules\[0\]: unknown field "userGroup"/,
    ],
    [
      'names without resources',
      `${head}rules:\n- level: None\n  resources: [{group: "", resourceNames: [a]}]\n`,
      /resourceNames requires at least one resource/,
    ],
  ];
  it.each(cases)('%s', (_name, text, msg) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(msg);
  });
});
