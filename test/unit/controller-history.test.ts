// ControllerRevision hashing and history planning (pkg/controller/history, daemon/update.go,
// statefulset/stateful_set_control.go). Expected hashes were computed independently (Python:
// FNV-1 32 over json.dumps(sort_keys) with Go's HTML escapes, then SafeEncodeString).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../proto/meta.js';
import {
  controllerRevisionName,
  fnv32,
  goJson,
  hashControllerRevision,
  newDaemonSetRevision,
  newStatefulSetRevision,
  nextRevision,
  sortRevisions,
  templateOfRevision,
  templatePatch,
} from '../../controlplane/controllers/history/controller-history.js';
import {
  claimRevisions,
  daemonSetHistoryToDelete,
  planDaemonSetHistory,
  planStatefulSetRevisions,
  statefulSetHistoryToDelete,
} from '../../controlplane/controllers/history/plan.js';
import { safeEncodeString } from '../../controlplane/controllers/deployment/template-hash.js';

const tpl = (extra: Record<string, unknown> = {}) => ({
  metadata: { creationTimestamp: null, labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36', ...extra }] },
});

function set(template: unknown = tpl(), status: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'set-uid' },
    spec: { selector: { matchLabels: { app: 'web' } }, template, revisionHistoryLimit: 10 },
    status,
  };
}

function rev(name: string, revision: number, data: unknown, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, ...extra },
    data,
    revision,
  };
}

describe('ControllerRevision hashing', () => {
  it.each([
    ['', 0x811c9dc5],
    ['a', 0x050c5d7e],
    ['foobar', 0x31f0b262],
  ])('FNV-1 32 of %j (hash/fnv New32, not New32a)', (s, want) => {
    expect(fnv32(Buffer.from(s))).toBe(want);
  });

  it('SafeEncodeString maps digits onto the consonant alphabet', () => {
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
  });

  it('marshals data as Go does: sorted keys, $patch first, HTML characters escaped', () => {
    expect(goJson(templatePatch(tpl()))).toBe(
      '{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"image":"busybox:1.36","name":"c"}]}}}}',
    );
    expect(goJson({ c: 'a && <b>' })).toBe('{"c":"a \\u0026\\u0026 \\u003cb\\u003e"}');
  });

  it.each([
    ['no probe', tpl(), undefined, '5cb9f8bd69'],
    ['collision count 0', tpl(), 0, '64d865fc7f'],
    ['collision count 1', tpl(), 1, '64d865fc7d'],
    ['escaped command, count 0', tpl({ command: ['sh', '-c', 'sleep 1 && echo <ok>'] }), 0, '5cd5f4b49b'],
  ])('HashControllerRevision: %s', (_n, template, probe, want) => {
    expect(hashControllerRevision(templatePatch(template), probe)).toBe(want);
  });

  it('names revisions <parent>-<hash>, the prefix cut at 223 characters', () => {
    expect(controllerRevisionName('web', 'abc')).toBe('web-abc');
    expect(controllerRevisionName('x'.repeat(240), 'abc')).toBe(`${'x'.repeat(223)}-abc`);
  });

  it('a StatefulSet revision: named by the data hash with the collision count, labelled, owned, annotated', () => {
    const s = set();
    s.metadata.annotations = { note: 'x' };
    const cr = newStatefulSetRevision(s, 3, 0);
    expect(cr.metadata.name).toBe('web-64d865fc7f');
    expect(cr.metadata.labels).toEqual({ app: 'web', 'controller.kubernetes.io/hash': '64d865fc7f' });
    expect(cr.metadata.annotations).toEqual({ note: 'x' });
    expect(cr.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'web',
        uid: 'set-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(cr.revision).toBe(3);
    expect(templateOfRevision(cr)).toEqual(tpl());
  });

  it('a DaemonSet revision: named and labelled by the template hash its pods carry', () => {
    const ds: KubeObject = {
      metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid' },
      spec: { template: tpl() },
    };
    const cr = newDaemonSetRevision(ds, 1, 'h4sh');
    expect(cr.metadata.name).toBe('agent-h4sh');
    expect(cr.metadata.labels).toEqual({ app: 'web', 'controller-revision-hash': 'h4sh' });
    expect(cr.metadata.annotations).toBeUndefined();
    expect(cr.data).toEqual(templatePatch(tpl()));
  });

  it('sorts by revision, then creation time, then name', () => {
    const a = rev('a', 2, {}, { creationTimestamp: '2026-01-01T00:00:02Z' });
    const b = rev('b', 2, {}, { creationTimestamp: '2026-01-01T00:00:01Z' });
    const c = rev('c', 1, {});
    const d = rev('d', 2, {}, { creationTimestamp: '2026-01-01T00:00:01Z' });
    expect(sortRevisions([a, b, c, d]).map((r) => r.metadata.name)).toEqual(['c', 'b', 'd', 'a']);
    expect(nextRevision(sortRevisions([a, c]))).toBe(3);
    expect(nextRevision([])).toBe(1);
  });
});

describe('claiming revisions (ControllerRevisionControllerRefManager)', () => {
  const owner = set();
  const ours = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true };
  const theirs = { ...ours, uid: 'other' };
  const matches = (cr: KubeObject) => cr.metadata.labels?.app === 'web';
  const cases: Array<{
    name: string;
    cr: KubeObject;
    ownerDeleting?: boolean;
    want: 'owned' | 'adopt' | 'release' | 'none';
  }> = [
    { name: 'controlled and matching', cr: rev('a', 1, {}, { ownerReferences: [ours] }), want: 'owned' },
    {
      name: 'controlled, no longer matching',
      cr: rev('a', 1, {}, { ownerReferences: [ours], labels: { app: 'db' } }),
      want: 'release',
    },
    {
      name: 'controlled, not matching, owner being deleted',
      cr: rev('a', 1, {}, { ownerReferences: [ours], labels: { app: 'db' } }),
      ownerDeleting: true,
      want: 'none',
    },
    { name: 'another controller', cr: rev('a', 1, {}, { ownerReferences: [theirs] }), want: 'none' },
    { name: 'matching orphan', cr: rev('a', 1, {}), want: 'adopt' },
    { name: 'matching orphan, owner being deleted', cr: rev('a', 1, {}), ownerDeleting: true, want: 'none' },
    { name: 'orphan being deleted', cr: rev('a', 1, {}, { deletionTimestamp: '2026-01-01T00:00:00Z' }), want: 'none' },
    { name: 'orphan not matching', cr: rev('a', 1, {}, { labels: { app: 'db' } }), want: 'none' },
  ];
  it.each(cases)('$name', ({ cr, ownerDeleting, want }) => {
    const o = ownerDeleting
      ? { ...owner, metadata: { ...owner.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } }
      : owner;
    const plan = claimRevisions(o, [cr], matches);
    const got = plan.owned.length ? 'owned' : plan.adopt.length ? 'adopt' : plan.release.length ? 'release' : 'none';
    expect(got).toBe(want);
  });
});

describe('DaemonSet history (constructHistory, dedup, cleanupHistory)', () => {
  const ds = (template: unknown): KubeObject => ({
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid' },
    spec: { template },
  });
  const v1 = templatePatch(tpl());
  const v2 = templatePatch(tpl({ args: ['2'] }));
  const v3 = templatePatch(tpl({ args: ['3'] }));

  it('no revision yet: snapshot revision 1', () => {
    const p = planDaemonSetHistory(ds(tpl()), []);
    expect(p.current).toBeUndefined();
    expect(p.revision).toBe(1);
  });

  it('a template change: the old revisions stay, the new one gets max + 1', () => {
    const p = planDaemonSetHistory(ds(tpl({ args: ['3'] })), [
      rev('agent-a', 1, v1, { labels: { 'controller-revision-hash': 'a' } }),
      rev('agent-b', 2, v2, { labels: { 'controller-revision-hash': 'b' } }),
    ]);
    expect(p.current).toBeUndefined();
    expect(p.old.map((r) => r.metadata.name)).toEqual(['agent-a', 'agent-b']);
    expect(p.revision).toBe(3);
  });

  it('a rollback to an old template: that revision is current and must be raised above the others', () => {
    const p = planDaemonSetHistory(ds(tpl()), [
      rev('agent-a', 1, v1, { labels: { 'controller-revision-hash': 'a' } }),
      rev('agent-b', 2, v2, { labels: { 'controller-revision-hash': 'b' } }),
    ]);
    expect(p.current?.metadata.name).toBe('agent-a');
    expect(p.old.map((r) => r.metadata.name)).toEqual(['agent-b']);
    expect(p.revision).toBe(3);
  });

  it('duplicates of the current data: the highest revision is kept, unlabelled ones are reported', () => {
    const p = planDaemonSetHistory(ds(tpl()), [
      rev('agent-a', 4, v1),
      rev('agent-b', 2, v1, { labels: { 'controller-revision-hash': 'b' } }),
      rev('agent-c', 3, v3, { labels: { 'controller-revision-hash': 'c' } }),
    ]);
    expect(p.current?.metadata.name).toBe('agent-a');
    expect(p.duplicates.map((r) => r.metadata.name)).toEqual(['agent-b']);
    expect(p.unlabelled.map((r) => r.metadata.name)).toEqual(['agent-a']);
    expect(p.revision).toBe(4);
  });

  it.each([
    { name: 'within the limit', limit: 10, live: [], want: [] },
    { name: 'two over the limit: the two oldest', limit: 1, live: [], want: ['r1', 'r2'] },
    { name: 'a live hash is skipped, the next oldest goes', limit: 1, live: ['h1'], want: ['r2', 'r3'] },
    { name: 'limit 0, everything live', limit: 0, live: ['h1', 'h2', 'h3'], want: [] },
  ])('cleanup: $name', ({ limit, live, want }) => {
    const old = [3, 1, 2].map((n) => rev(`r${n}`, n, {}, { labels: { 'controller-revision-hash': `h${n}` } }));
    expect(daemonSetHistoryToDelete(old, limit, new Set(live)).map((r) => r.metadata.name)).toEqual(want);
  });
});

describe('StatefulSet history (getStatefulSetRevisions, truncateHistory)', () => {
  const v1 = templatePatch(tpl());
  const v2 = templatePatch(tpl({ args: ['2'] }));

  it('first sync: create revision 1 named by the hash; current = update', () => {
    const p = planStatefulSetRevisions(set(), []);
    expect(p.update.type).toBe('create');
    expect(p.update.revision.metadata.name).toBe('web-64d865fc7f');
    expect(p.update.revision.revision).toBe(1);
    expect(p.current).toBeUndefined();
  });

  it('the newest revision holds the template: nothing to write', () => {
    const p = planStatefulSetRevisions(set(tpl(), { currentRevision: 'web-1' }), [
      rev('web-1', 1, v2),
      rev('web-2', 2, v1),
    ]);
    expect(p.update).toEqual({
      type: 'existing',
      revision: expect.objectContaining({ metadata: expect.objectContaining({ name: 'web-2' }) }),
    });
    expect(p.current?.metadata.name).toBe('web-1');
  });

  it('an older revision holds the template (rollback): raise it to next', () => {
    const p = planStatefulSetRevisions(set(), [rev('web-1', 1, v1), rev('web-2', 2, v2)]);
    expect(p.update.type).toBe('bump');
    if (p.update.type === 'bump') {
      expect(p.update.revision.metadata.name).toBe('web-1');
      expect(p.update.to).toBe(3);
    }
  });

  it('a new template: create with the next revision number and the status collision count', () => {
    const p = planStatefulSetRevisions(set(tpl(), { collisionCount: 1 }), [rev('web-1', 1, v2)]);
    expect(p.update.type).toBe('create');
    expect(p.update.revision.revision).toBe(2);
    expect(p.update.revision.metadata.name).toBe('web-64d865fc7d');
    expect(p.collisionCount).toBe(1);
  });

  it('upgrade from revision names without ControllerRevisions: the first revision keeps the name pods carry', () => {
    const p = planStatefulSetRevisions(
      set(tpl(), { updateRevision: 'web-legacy', currentRevision: 'web-legacy' }),
      [],
      'web-legacy',
    );
    expect(p.update).toMatchObject({ type: 'create', preferredName: 'web-legacy' });
    expect(
      planStatefulSetRevisions(set(tpl(), { updateRevision: 'web-other' }), [], 'web-legacy').update,
    ).not.toHaveProperty('preferredName');
  });

  it.each([
    { name: 'within the limit', limit: 10, live: [], want: [] },
    { name: 'limit 1: the oldest non-live ones go', limit: 1, live: ['r4'], want: ['r1', 'r2'] },
    { name: 'a pod still at r1 keeps it', limit: 1, live: ['r1', 'r4'], want: ['r2'] },
    { name: 'a negative limit keeps everything', limit: -1, live: [], want: [] },
  ])('truncate: $name', ({ limit, live, want }) => {
    const revs = [4, 2, 1, 3].map((n) => rev(`r${n}`, n, {}));
    expect(statefulSetHistoryToDelete(revs, new Set(live), limit).map((r) => r.metadata.name)).toEqual(want);
  });
});
