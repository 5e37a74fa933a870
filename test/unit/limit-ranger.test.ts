// LimitRanger's rules as tables (plugin/pkg/admission/limitranger): defaults merged into
// containers and init containers, min/max/ratio per Container and per Pod, claims' storage.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { mutatePod, validateClaim, validatePod } from '../../controlplane/quota/limit-ranger.js';

const lr = (...limits: Record<string, unknown>[]): KubeObject => ({ metadata: { name: 'lr' }, spec: { limits } });
const pod = (containers: Record<string, unknown>[], initContainers?: Record<string, unknown>[]): KubeObject => ({
  metadata: { name: 'p' },
  spec: { containers, ...(initContainers ? { initContainers } : {}) },
});
const c = (name: string, requests?: Record<string, string>, limits?: Record<string, string>) => ({
  name,
  image: 'x',
  resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) },
});

describe('mutatePod', () => {
  it('fills what each container lacks, init containers too, and says so', () => {
    const p = pod([c('app', { cpu: '1' })], [c('init')]);
    mutatePod(
      lr({ type: 'Container', default: { cpu: '2', memory: '1Gi' }, defaultRequest: { cpu: '500m', memory: '512Mi' } }),
      p,
    );
    expect((p.spec as any).containers[0].resources).toEqual({
      requests: { cpu: '1', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect((p.spec as any).initContainers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect(p.metadata.annotations).toEqual({
      'kubernetes.io/limit-ranger':
        'LimitRanger plugin set: memory request for container app; cpu, memory limit for container app; cpu, memory request for init container init; cpu, memory limit for init container init',
    });
  });

  it('Pod and claim items set no defaults', () => {
    const p = pod([c('app')]);
    mutatePod(lr({ type: 'Pod', max: { cpu: '1' } }), p);
    expect(p.metadata.annotations).toBeUndefined();
  });
});

describe('validatePod / validateClaim', () => {
  it.each<[string, KubeObject, KubeObject, string | undefined]>([
    [
      'within bounds',
      lr({ type: 'Container', min: { cpu: '100m' }, max: { cpu: '1' } }),
      pod([c('a', { cpu: '200m' }, { cpu: '500m' })]),
      undefined,
    ],
    [
      'no limit under a max',
      lr({ type: 'Container', max: { memory: '1Gi' } }),
      pod([c('a')]),
      'maximum memory usage per Container is 1Gi.  No limit is specified',
    ],
    [
      'request over a max',
      lr({ type: 'Container', max: { cpu: '1' } }),
      pod([c('a', { cpu: '2' }, { cpu: '1' })]),
      'maximum cpu usage per Container is 1, but request is 2',
    ],
    [
      'no request under a min',
      lr({ type: 'Container', min: { cpu: '100m' } }),
      pod([c('a')]),
      'minimum cpu usage per Container is 100m.  No request is specified',
    ],
    [
      'limit under a min',
      lr({ type: 'Container', min: { memory: '64Mi' } }),
      pod([c('a', { memory: '128Mi' }, { memory: '32Mi' })]),
      'minimum memory usage per Container is 64Mi, but limit is 32Mi',
    ],
    [
      'ratio',
      lr({ type: 'Container', maxLimitRequestRatio: { cpu: '2' } }),
      pod([c('a', { cpu: '250m' }, { cpu: '1' })]),
      'cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000',
    ],
    [
      'ratio without request',
      lr({ type: 'Container', maxLimitRequestRatio: { cpu: '2' } }),
      pod([c('a', undefined, { cpu: '1' })]),
      'cpu max limit to request ratio per Container is 2, but no request is specified or request is 0',
    ],
    [
      'pod total over a Pod max',
      lr({ type: 'Pod', max: { cpu: '1' } }),
      pod([c('a', { cpu: '600m' }, { cpu: '600m' }), c('b', { cpu: '600m' }, { cpu: '600m' })]),
      'maximum cpu usage per Pod is 1, but limit is 1200m',
    ],
    [
      'a Pod total adds what the containers state',
      lr({ type: 'Pod', max: { cpu: '1' } }),
      pod([c('a', { cpu: '100m' }, { cpu: '100m' }), c('b')]),
      undefined,
    ],
  ])('%s', (_n, range, p, want) => expect(validatePod(range, p)).toBe(want));

  it.each<[string, string | undefined, string | undefined]>([
    ['1Gi', undefined, undefined],
    ['5Gi', 'maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi', undefined],
    ['100Mi', 'minimum storage usage per PersistentVolumeClaim is 500Mi, but request is 100Mi', undefined],
  ])('claim of %s', (size, want) => {
    const claim: KubeObject = { metadata: {}, spec: { resources: { requests: { storage: size } } } };
    expect(
      validateClaim(lr({ type: 'PersistentVolumeClaim', min: { storage: '500Mi' }, max: { storage: '2Gi' } }), claim),
    ).toBe(want);
  });
});
