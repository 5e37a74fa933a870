// Pod Security admission on the real write path (in-memory store, the plugin installed as
// skiff-server does): namespace labels and their validation, enforce/audit/warn on pods,
// warn-only on workloads, existing-pod warnings on a stricter enforce label, exemptions,
// the cluster default, significant pod updates, and a ReplicaSet's refused pods as
// FailedCreate events. Cases after pod-security-admission's admission_test.go and api/helpers_test.go.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage, type WriteOptions } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { findResource } from '../../controlplane/resources/index.js';
import { installPodSecurity, podSecurityConfig } from '../../controlplane/admission/pod-security/hook.js';
import {
  exemptNamespaceWarning,
  isSignificantPodUpdate,
  podTemplateOf,
  validate,
} from '../../controlplane/admission/pod-security/admission.js';
import {
  LATEST,
  parseDefaultPolicy,
  policyToEvaluate,
  PRIVILEGED_POLICY,
  v1,
} from '../../controlplane/admission/pod-security/policy.js';
import { controllerContext } from '../../controlplane/controllers/context.js';
import * as replicaSetController from '../../controlplane/controllers/replica-set-controller.js';
import { until } from './controller-harness.js';
import { keyFor } from '../../controlplane/api/keys.js';

const nsDef = findResource('', 'v1', 'namespaces')!;
const podDef = findResource('', 'v1', 'pods')!;
const deployDef = findResource('apps', 'v1', 'deployments')!;
const rsDef = findResource('apps', 'v1', 'replicasets')!;
const eventDef = findResource('', 'v1', 'events')!;

const PRIVILEGED_DETAIL =
  'privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), ' +
  'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), ' +
  'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")';
const RESTRICTED_DETAIL = PRIVILEGED_DETAIL.replace(/^privileged \(.*?\), /, '');

function podBody(
  name: string,
  securityContext?: Record<string, unknown>,
  podSecurityContext?: Record<string, unknown>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: [{ name: 'c', image: 'busybox', ...(securityContext ? { securityContext } : {}) }],
      ...(podSecurityContext ? { securityContext: podSecurityContext } : {}),
    },
  };
}
const compliant = (name: string) =>
  podBody(
    name,
    { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  );
const template = (securityContext?: Record<string, unknown>) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'busybox', ...(securityContext ? { securityContext } : {}) }] },
});

let store: SqliteStore;
let storage: ApiStorage;
let uninstall: () => void;

async function start(
  flags: { podSecurityDefault?: string; podSecurityExemptNamespaces?: string[] } = {},
): Promise<void> {
  store = new SqliteStore(':memory:');
  storage = new ApiStorage(store);
  uninstall = installPodSecurity(store, podSecurityConfig(flags));
  await seedNamespaces(storage);
}

async function ns(name: string, labels?: Record<string, string>, opts: WriteOptions = {}): Promise<KubeObject> {
  return storage.create(
    nsDef,
    undefined,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } },
    opts,
  );
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

afterEach(async () => {
  uninstall?.();
  await store?.close();
});

describe('namespace policy (api/helpers.go PolicyToEvaluate)', () => {
  const d = PRIVILEGED_POLICY;
  it('labels over the defaults; warn follows a stricter enforce level unless set', () => {
    const { policy, errors } = policyToEvaluate(
      { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.25' },
      d,
    );
    expect(errors).toEqual([]);
    expect(policy.enforce).toEqual({ level: 'baseline', version: v1(25) });
    expect(policy.warn).toEqual({ level: 'baseline', version: v1(25) });
    expect(policy.audit).toEqual({ level: 'privileged', version: LATEST });
    expect(
      policyToEvaluate(
        { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'privileged' },
        d,
      ).policy.warn.level,
    ).toBe('privileged');
    expect(
      policyToEvaluate(
        { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn-version': 'v1.1' },
        d,
      ).policy.warn,
    ).toEqual({ level: 'baseline', version: v1(1) });
  });
  it('an invalid enforce level is restricted; invalid audit and warn levels are privileged; invalid versions are latest', () => {
    const { policy, errors } = policyToEvaluate(
      {
        'pod-security.kubernetes.io/enforce': 'foo',
        'pod-security.kubernetes.io/audit': 'bar',
        'pod-security.kubernetes.io/warn': 'baz',
        'pod-security.kubernetes.io/enforce-version': '1.25',
      },
      d,
    );
    expect(policy.enforce).toEqual({ level: 'restricted', version: LATEST });
    expect(policy.audit.level).toBe('privileged');
    expect(policy.warn.level).toBe('privileged');
    expect(errors.map((e) => `${e.field}: ${e.message}`)).toEqual([
      'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "foo": must be one of privileged, baseline, restricted',
      'metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.25": must be "latest" or "v1.x"',
      'metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "bar": must be one of privileged, baseline, restricted',
      'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "baz": must be one of privileged, baseline, restricted',
    ]);
  });
  it('v1.x versions: no leading zeros, not v2', () => {
    for (const bad of ['v1.01', 'v2.0', 'v1', 'V1.2', 'v1.2.3'])
      expect(policyToEvaluate({ 'pod-security.kubernetes.io/enforce-version': bad }, d).errors).toHaveLength(1);
    expect(policyToEvaluate({ 'pod-security.kubernetes.io/enforce-version': 'v1.0' }, d).errors).toEqual([]);
  });
});

describe('--pod-security-default', () => {
  it('parses MODE=LEVEL[:VERSION]; unnamed modes stay privileged:latest', () => {
    expect(parseDefaultPolicy(undefined)).toEqual(PRIVILEGED_POLICY);
    expect(parseDefaultPolicy('enforce=baseline,warn=restricted:v1.32')).toEqual({
      enforce: { level: 'baseline', version: LATEST },
      audit: { level: 'privileged', version: LATEST },
      warn: { level: 'restricted', version: v1(32) },
    });
  });
  it.each([
    ['enforce=strict', /level must be one of privileged, baseline, restricted/],
    ['enforce', /missing "="/],
    ['deny=baseline', /unknown mode "deny"/],
    ['warn=baseline:1.2', /version must be "latest" or "v1.x"/],
    ['warn=baseline,warn=restricted', /mode warn given twice/],
  ])('refuses %s', (raw, msg) => {
    expect(() => podSecurityConfig({ podSecurityDefault: raw })).toThrow(msg);
  });
});

describe('pods', () => {
  beforeEach(() => start());

  it("enforce refuses with Kubernetes' message, naming the level:version", async () => {
    await ns('r', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const e = await refusal(storage.create(podDef, 'r', podBody('x', { privileged: true })));
    expect(e.code).toBe(403);
    expect(e.reason).toBe('Forbidden');
    expect(e.message).toBe(`pods "x" is forbidden: violates PodSecurity "restricted:latest": ${PRIVILEGED_DETAIL}`);
    expect(e.details).toEqual({ name: 'x', kind: 'pods' });
    await ns('r25', {
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/enforce-version': 'v1.25',
    });
    expect((await refusal(storage.create(podDef, 'r25', podBody('y', { privileged: true })))).message).toBe(
      'pods "y" is forbidden: violates PodSecurity "baseline:v1.25": privileged (container "c" must not set securityContext.privileged=true)',
    );
  });

  it('a compliant pod is admitted with the enforce-policy audit annotation', async () => {
    await ns('r', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const opts: WriteOptions = { warnings: [], auditAnnotations: {} };
    await storage.create(podDef, 'r', compliant('ok'), opts);
    expect(opts.warnings).toEqual([]);
    expect(opts.auditAnnotations).toEqual({ 'pod-security.kubernetes.io/enforce-policy': 'restricted:latest' });
  });

  it('warn admits and warns; audit annotates', async () => {
    await ns('w', { 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'baseline' });
    const opts: WriteOptions = { warnings: [], auditAnnotations: {} };
    await storage.create(podDef, 'w', podBody('x', { privileged: true }), opts);
    expect(opts.warnings).toEqual([`would violate PodSecurity "restricted:latest": ${PRIVILEGED_DETAIL}`]);
    expect(opts.auditAnnotations).toEqual({
      'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
      'pod-security.kubernetes.io/audit-violations':
        'would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
    });
  });

  it('an invalid enforce label fails closed (restricted) and says why in the audit annotations', async () => {
    // a label the validation now refuses, stored before (as an upgrade could leave it)
    await store.create(
      keyFor(nsDef, undefined, 'bad'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'bad', uid: 'u', labels: { 'pod-security.kubernetes.io/enforce': 'strict' } },
        spec: {},
        status: { phase: 'Active' },
      }),
    );
    const opts: WriteOptions = { warnings: [], auditAnnotations: {} };
    const e = await refusal(storage.create(podDef, 'bad', podBody('x'), opts));
    expect(e.message).toBe(`pods "x" is forbidden: violates PodSecurity "restricted:latest": ${RESTRICTED_DETAIL}`);
    expect(opts.auditAnnotations!['pod-security.kubernetes.io/error']).toBe(
      'Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
  });

  it('updates are checked only when an image or the containers change', async () => {
    await ns('r', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    await storage.create(podDef, 'r', podBody('p'));
    // the label went stricter after the pod was admitted: metadata changes still pass
    await storage.guaranteedUpdate(nsDef, undefined, 'r', {}, (cur) => ({
      ...cur,
      metadata: {
        ...cur.metadata,
        labels: { ...cur.metadata.labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    }));
    await storage.guaranteedUpdate(podDef, 'r', 'p', {}, (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { a: 'b' } },
    }));
    const e = await refusal(
      storage.guaranteedUpdate(podDef, 'r', 'p', {}, (cur) => ({
        ...cur,
        spec: { ...cur.spec, containers: [{ ...cur.spec.containers[0], image: 'busybox:2' }] },
      })),
    );
    expect(e.message).toMatch(
      /^pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
  });

  it('isSignificantPodUpdate', () => {
    const p = (spec: Record<string, unknown>): KubeObject => ({ metadata: {}, spec });
    expect(isSignificantPodUpdate(p({ containers: [{ image: 'a' }] }), p({ containers: [{ image: 'a' }] }))).toBe(
      false,
    );
    expect(isSignificantPodUpdate(p({ containers: [{ image: 'b' }] }), p({ containers: [{ image: 'a' }] }))).toBe(true);
    expect(
      isSignificantPodUpdate(
        p({ containers: [{ image: 'a' }], initContainers: [{ image: 'i' }] }),
        p({ containers: [{ image: 'a' }] }),
      ),
    ).toBe(true);
    expect(
      isSignificantPodUpdate(
        p({ containers: [], ephemeralContainers: [{ name: 'e', image: 'x' }] }),
        p({ containers: [] }),
      ),
    ).toBe(true);
  });
});

describe('workloads: warn and audit, never enforce', () => {
  beforeEach(() => start());

  it('a Deployment violating enforce is admitted with a warning', async () => {
    await ns('r', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const opts: WriteOptions = { warnings: [], auditAnnotations: {} };
    await storage.create(
      deployDef,
      'r',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: template({ privileged: true }) },
      },
      opts,
    );
    expect(opts.warnings).toEqual([`would violate PodSecurity "restricted:latest": ${PRIVILEGED_DETAIL}`]);
    expect(opts.auditAnnotations).toEqual({});
  });

  it("its ReplicaSet's pods are refused: FailedCreate events with Kubernetes' message", async () => {
    await ns('r', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const ctx = controllerContext(storage, pino({ level: 'silent' }));
    const rsc = replicaSetController.create(ctx);
    await rsc.start();
    await ctx.informers.startAll();
    try {
      await storage.create(rsDef, 'r', {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template({ privileged: true }) },
      });
      const ev = await until(
        'a FailedCreate event',
        async () => (await storage.list(eventDef, 'r')).items.find((e) => e.reason === 'FailedCreate'),
        10_000,
      );
      expect(ev.type).toBe('Warning');
      expect(ev.message).toMatch(
        new RegExp(
          `^Error creating: pods "web-[a-z0-9]{5}" is forbidden: violates PodSecurity "restricted:latest": ${PRIVILEGED_DETAIL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        ),
      );
      expect((await storage.list(podDef, 'r')).items).toEqual([]);
    } finally {
      rsc.stop();
      ctx.informers.stopAll();
    }
  });
});

describe('namespaces', () => {
  beforeEach(() => start({ podSecurityExemptNamespaces: ['kube-system'] }));

  it('invalid labels are refused on create, and on update when they change', async () => {
    const e = await refusal(ns('x', { 'pod-security.kubernetes.io/enforce': 'strict' }));
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'Namespace "x" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
    await ns('y');
    const u = await refusal(
      storage.guaranteedUpdate(nsDef, undefined, 'y', {}, (cur) => ({
        ...cur,
        metadata: { ...cur.metadata, labels: { 'pod-security.kubernetes.io/warn-version': 'v1' } },
      })),
    );
    expect(u.message).toBe(
      'Namespace "y" is invalid: metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "v1": must be "latest" or "v1.x"',
    );
  });

  it('a stricter enforce label warns about the existing pods it would refuse', async () => {
    await ns('app');
    for (const n of ['b', 'a', 'c']) await storage.create(podDef, 'app', podBody(n, { privileged: true }));
    await storage.create(podDef, 'app', podBody('plain'));
    await storage.create(podDef, 'app', compliant('good'));
    const opts: WriteOptions = { warnings: [] };
    await storage.guaranteedUpdate(nsDef, undefined, 'app', opts, (cur) => ({
      ...cur,
      metadata: {
        ...cur.metadata,
        labels: { ...cur.metadata.labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    }));
    expect(opts.warnings).toEqual([
      'existing pods in namespace "app" violate the new PodSecurity enforce level "restricted:latest"',
      'a (and 2 other pods): privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
      'plain: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
    ]);
    // relaxing, or the same level again, checks nothing
    const again: WriteOptions = { warnings: [] };
    await storage.guaranteedUpdate(nsDef, undefined, 'app', again, (cur) => ({
      ...cur,
      metadata: {
        ...cur.metadata,
        labels: { ...cur.metadata.labels, 'pod-security.kubernetes.io/enforce': 'baseline' },
      },
    }));
    expect(again.warnings).toEqual([]);
  });

  it('an exempt namespace is not checked, and labelling it warns that the policy is ignored', async () => {
    await storage.create(podDef, 'kube-system', podBody('x', { privileged: true }));
    const opts: WriteOptions = { warnings: [] };
    await storage.guaranteedUpdate(nsDef, undefined, 'kube-system', opts, (cur) => ({
      ...cur,
      metadata: {
        ...cur.metadata,
        labels: { ...cur.metadata.labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    }));
    expect(opts.warnings).toEqual([
      'namespace "kube-system" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored',
    ]);
    const podOpts: WriteOptions = { warnings: [], auditAnnotations: {} };
    await storage.create(podDef, 'kube-system', podBody('y', { privileged: true }), podOpts);
    expect(podOpts.auditAnnotations).toEqual({ 'pod-security.kubernetes.io/exempt': 'namespace' });
  });

  it('exemptNamespaceWarning (admission_test.go TestExemptNamespaceWarning)', () => {
    const cfg = { defaults: PRIVILEGED_POLICY, exemptNamespaces: [] };
    const pol = (l: Record<string, string>) => policyToEvaluate(l, PRIVILEGED_POLICY).policy;
    expect(exemptNamespaceWarning(cfg, 'ns', pol({}), {})).toBe('');
    const labels = {
      'pod-security.kubernetes.io/audit': 'baseline',
      'pod-security.kubernetes.io/warn-version': 'v1.20',
      'pod-security.kubernetes.io/warn': 'restricted',
    };
    expect(exemptNamespaceWarning(cfg, 'ns', pol(labels), labels)).toBe(
      'namespace "ns" is exempt from Pod Security, and the policy (audit=baseline:latest, warn=restricted:v1.20) will be ignored',
    );
  });
});

describe('cluster default', () => {
  beforeEach(() => start({ podSecurityDefault: 'enforce=baseline,warn=restricted:v1.32' }));

  it('applies to namespaces without labels; labels override it', async () => {
    await ns('plain');
    expect((await refusal(storage.create(podDef, 'plain', podBody('x', { privileged: true })))).message).toBe(
      'pods "x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
    );
    const opts: WriteOptions = { warnings: [] };
    await storage.create(podDef, 'plain', podBody('y'), opts);
    expect(opts.warnings).toEqual([`would violate PodSecurity "restricted:v1.32": ${RESTRICTED_DETAIL}`]);
    await ns('open', { 'pod-security.kubernetes.io/enforce': 'privileged' });
    await storage.create(podDef, 'open', podBody('z', { privileged: true }));
  });
});

describe('pod templates (DefaultPodSpecExtractor)', () => {
  it("reads the template of each workload kind, the CronJob's through its jobTemplate", () => {
    const t = { metadata: { annotations: { a: 'b' } }, spec: { containers: [{ name: 'c' }] } };
    expect(podTemplateOf('deployments', { metadata: {}, spec: { template: t } })).toEqual({
      meta: t.metadata,
      spec: t.spec,
    });
    expect(podTemplateOf('cronjobs', { metadata: {}, spec: { jobTemplate: { spec: { template: t } } } })).toEqual({
      meta: t.metadata,
      spec: t.spec,
    });
    expect(podTemplateOf('podtemplates', { metadata: {}, template: t })).toEqual({ meta: t.metadata, spec: t.spec });
    expect(podTemplateOf('jobs', { metadata: {}, spec: {} })).toBeUndefined();
  });
});

describe('a pod whose namespace is gone', () => {
  const cfg = { defaults: PRIVILEGED_POLICY, exemptNamespaces: [] };
  const none = { namespace: async () => undefined, pods: async () => [] };
  const pod = (image: string, finalizers?: string[]): KubeObject => ({
    metadata: { name: 'p', namespace: 'gone', ...(finalizers ? { finalizers } : {}) },
    spec: { containers: [{ name: 'c', image }] },
  });
  const req = (object: KubeObject, oldObject?: KubeObject) => ({
    operation: oldObject ? ('UPDATE' as const) : ('CREATE' as const),
    group: '',
    resource: 'pods',
    kind: 'Pod',
    subresource: '',
    namespace: 'gone',
    name: 'p',
    object,
    oldObject,
  });
  it('may still lose its finalizers; a create or an image change is refused (500, as Kubernetes)', async () => {
    expect((await validate(cfg, req(pod('a'), pod('a', ['f'])), none)).allowed).toBe(true);
    const created = await validate(cfg, req(pod('a')), none);
    expect(created.allowed).toBe(false);
    expect(created.error?.message).toBe('Internal error occurred: failed to lookup namespace "gone"');
    expect((await validate(cfg, req(pod('b'), pod('a')), none)).allowed).toBe(false);
  });
});
