// PriorityClass validation and the one-globalDefault rule, the Priority admission on pod
// create (table of decisions, then through ApiStorage), the seeded system classes, the
// PodTemplate kind's defaulting/validation/table, and the scheduling queue's PrioritySort.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedNamespaces, seedSystemPriorityClasses } from '../../controlplane/bootstrap.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { findResource } from '../../controlplane/resources/index.js';
import { validatePriorityClass } from '../../controlplane/resources/priority-class.js';
import { decidePodPriority } from '../../controlplane/admission/priority.js';
import { SchedulingQueue } from '../../controlplane/scheduler/queue.js';

const pc = (name: string, value: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  value,
  preemptionPolicy: 'PreemptLowerPriority',
  ...extra,
});

describe('PriorityClass validation', () => {
  const cases: Array<[string, KubeObject, KubeObject | undefined, string[]]> = [
    ['a user class', pc('high', 1000), undefined, []],
    ['the user ceiling', pc('top', 1_000_000_000), undefined, []],
    [
      'above the ceiling',
      pc('huge', 1_000_000_001),
      undefined,
      ['value: Forbidden: maximum allowed value of a user defined priority is 1000000000'],
    ],
    ['a system class as seeded', pc('system-node-critical', 2000001000), undefined, []],
    [
      'an unknown system- name',
      pc('system-foo', 10),
      undefined,
      [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class",
      ],
    ],
    [
      'a system class with another value',
      pc('system-cluster-critical', 10),
      undefined,
      [
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-cluster-critical PriorityClass must be 2000000000",
      ],
    ],
    [
      'a bad policy',
      pc('p', 1, { preemptionPolicy: 'Sometimes' }),
      undefined,
      ['preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"'],
    ],
    ['value changed', pc('p', 2), pc('p', 1), ['value: Forbidden: may not be changed in an update.']],
    [
      'policy changed',
      pc('p', 1, { preemptionPolicy: 'Never' }),
      pc('p', 1),
      ['preemptionPolicy: Invalid value: "Never": field is immutable'],
    ],
    ['description changed', pc('p', 1, { description: 'x' }), pc('p', 1), []],
  ];
  it.each(cases)('%s', (_n, obj, old, want) => {
    expect(validatePriorityClass(obj, old).map((c) => `${c.field}: ${c.message}`)).toEqual(want);
  });
});

describe('Priority admission decisions', () => {
  const classes = [pc('high', 1000), pc('never', 50, { preemptionPolicy: 'Never' })];
  const withDefault = [
    ...classes,
    pc('dflt', 7, { globalDefault: true }),
    pc('dflt-higher', 9, { globalDefault: true }),
  ];
  const cases: Array<[string, string, { priority?: number; preemptionPolicy?: string }, KubeObject[], unknown]> = [
    [
      'a named class',
      'high',
      {},
      classes,
      { ok: true, priorityClassName: 'high', priority: 1000, preemptionPolicy: 'PreemptLowerPriority' },
    ],
    [
      'the class policy',
      'never',
      {},
      classes,
      { ok: true, priorityClassName: 'never', priority: 50, preemptionPolicy: 'Never' },
    ],
    [
      'no class, no default',
      '',
      {},
      classes,
      { ok: true, priorityClassName: '', priority: 0, preemptionPolicy: 'PreemptLowerPriority' },
    ],
    [
      'no class: the lowest globalDefault',
      '',
      {},
      withDefault,
      { ok: true, priorityClassName: 'dflt', priority: 7, preemptionPolicy: 'PreemptLowerPriority' },
    ],
    [
      'a system class not in the store',
      'system-node-critical',
      {},
      [],
      {
        ok: true,
        priorityClassName: 'system-node-critical',
        priority: 2000001000,
        preemptionPolicy: 'PreemptLowerPriority',
      },
    ],
    ['an unknown class', 'nope', {}, classes, { ok: false, message: 'no PriorityClass with name nope was found' }],
    [
      'an agreeing priority',
      'high',
      { priority: 1000 },
      classes,
      { ok: true, priorityClassName: 'high', priority: 1000, preemptionPolicy: 'PreemptLowerPriority' },
    ],
    [
      'a disagreeing priority',
      'high',
      { priority: 5 },
      classes,
      {
        ok: false,
        message:
          'the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
      },
    ],
    [
      'a disagreeing policy',
      '',
      { preemptionPolicy: 'Never' },
      classes,
      {
        ok: false,
        message:
          'the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name',
      },
    ],
  ];
  it.each(cases)('%s', (_n, name, req, list, want) => {
    expect(decidePodPriority(name, req, list)).toEqual(want);
  });
});

describe('PriorityClass and PodTemplate through the storage', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  const pcDef = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  const podDef = findResource('', 'v1', 'pods')!;
  const ptDef = findResource('', 'v1', 'podtemplates')!;
  const podObj = (name: string, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  });
  const failure = async (p: Promise<unknown>): Promise<ApiError> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof ApiError) return e;
      throw e;
    }
    throw new Error('expected an ApiError');
  };

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
    await seedSystemPriorityClasses(storage);
  });
  afterEach(() => store.close());

  it('seeds the two system classes, idempotently', async () => {
    await seedSystemPriorityClasses(storage);
    const names = (await storage.list(pcDef, undefined, {})).items.map(
      (o: KubeObject) => `${o.metadata.name}=${o.value}`,
    );
    expect(names).toEqual(['system-cluster-critical=2000000000', 'system-node-critical=2000001000']);
  });

  it('refuses to delete a system class', async () => {
    const e = await failure(storage.delete(pcDef, undefined, 'system-node-critical'));
    expect([e.code, e.message]).toEqual([
      403,
      'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted',
    ]);
    await storage.create(pcDef, undefined, pc('mine', 1), {});
    await storage.delete(pcDef, undefined, 'mine');
  });

  it('allows one globalDefault only', async () => {
    await storage.create(pcDef, undefined, pc('a', 10, { globalDefault: true }), {});
    const e = await failure(storage.create(pcDef, undefined, pc('b', 20, { globalDefault: true }), {}));
    expect(e.code).toBe(403);
    expect(e.message).toBe(
      'priorityclasses.scheduling.k8s.io "b" is forbidden: PriorityClass a is already marked as default. Only one default can exist',
    );
    const e2 = await failure(storage.create(pcDef, undefined, pc('huge', 2_000_000_000), {}));
    expect(e2.code).toBe(422);
  });

  it('resolves a pod priority on create', async () => {
    await storage.create(pcDef, undefined, pc('high', 1000, { preemptionPolicy: 'Never' }), {});
    const p = await storage.create(podDef, 'default', podObj('p1', { priorityClassName: 'high' }), {});
    expect(p.spec).toMatchObject({ priorityClassName: 'high', priority: 1000, preemptionPolicy: 'Never' });
    const plain = await storage.create(podDef, 'default', podObj('p2'), {});
    expect(plain.spec.priority).toBe(0);
    expect(plain.spec.priorityClassName).toBeUndefined();
    const crit = await storage.create(
      podDef,
      'default',
      podObj('p3', { priorityClassName: 'system-node-critical' }),
      {},
    );
    expect(crit.spec.priority).toBe(2000001000);
    const e = await failure(storage.create(podDef, 'default', podObj('x', { priorityClassName: 'nope' }), {}));
    expect([e.code, e.message]).toEqual([403, 'pods "x" is forbidden: no PriorityClass with name nope was found']);
    const e2 = await failure(
      storage.create(podDef, 'default', podObj('y', { priorityClassName: 'high', priority: 3 }), {}),
    );
    expect(e2.message).toBe(
      'pods "y" is forbidden: the integer value of priority (3) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
    );
    await storage.create(pcDef, undefined, pc('dflt', 5, { globalDefault: true }), {});
    const d = await storage.create(podDef, 'default', podObj('p4'), {});
    expect(d.spec).toMatchObject({ priorityClassName: 'dflt', priority: 5 });
  });

  it('serves PodTemplates: defaulted, validated, tabled', async () => {
    const t = await storage.create(
      ptDef,
      'default',
      {
        apiVersion: 'v1',
        kind: 'PodTemplate',
        metadata: { name: 'tpl', namespace: 'default' },
        template: {
          metadata: { labels: { b: '2', a: '1' } },
          spec: {
            containers: [
              { name: 'web', image: 'nginx' },
              { name: 'side', image: 'busybox' },
            ],
          },
        },
      },
      {},
    );
    expect(t.template.spec.restartPolicy).toBe('Always');
    expect(t.template.metadata.creationTimestamp).toBeNull();
    expect(t.metadata.generation).toBe(1);
    expect(ptDef.columns.map((c) => c.name)).toEqual(['Name', 'Containers', 'Images', 'Pod Labels']);
    expect(ptDef.row(t, Date.now())).toEqual(['tpl', 'web,side', 'nginx,busybox', 'a=1,b=2']);
    const e = await failure(
      storage.create(
        ptDef,
        'default',
        { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'bad', namespace: 'default' } },
        {},
      ),
    );
    expect(e.code).toBe(422);
    expect(JSON.stringify(e.details)).toContain('template.spec.containers');
  });
});

describe('SchedulingQueue PrioritySort', () => {
  const cases: Array<[string, Array<[string, number]>, string[]]> = [
    [
      'FIFO among equals',
      [
        ['a', 0],
        ['b', 0],
        ['c', 0],
      ],
      ['a', 'b', 'c'],
    ],
    [
      'higher first',
      [
        ['low', 1],
        ['high', 100],
        ['mid', 50],
      ],
      ['high', 'mid', 'low'],
    ],
    [
      'ties keep arrival order',
      [
        ['a', 5],
        ['b', 10],
        ['c', 5],
        ['d', 10],
      ],
      ['b', 'd', 'a', 'c'],
    ],
    [
      'negative priorities last',
      [
        ['n', -5],
        ['z', 0],
      ],
      ['z', 'n'],
    ],
  ];
  it.each(cases)('%s', async (_n, adds, want) => {
    const prio = new Map(adds);
    const q = new SchedulingQueue({ priorityOf: (k) => prio.get(k) ?? 0 });
    for (const [k] of adds) q.add(k);
    const got: string[] = [];
    for (let i = 0; i < adds.length; i++) got.push((await q.pop())!);
    q.close();
    expect(got).toEqual(want);
  });
});
