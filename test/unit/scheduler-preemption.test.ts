// DefaultPreemption's planning as pure tables: victim selection on a node (lowest priority
// first, greedy reprieve, PDB-violating victims reprieved first), the node pick
// (pickOneNodeForPreemption's tie-breakers), eligibility, and the messages of a dry run.
import { describe, expect, it } from 'vitest';
import {
  filterNodeWithNominated,
  newCycleContext,
  schedule,
  type FitError,
  type NodeInfo,
} from '../../controlplane/scheduler/framework.js';
import {
  filterPodsWithPDBViolation,
  moreImportantPod,
  pickOneNodeForPreemption,
  planPreemption,
  podEligibleToPreemptOthers,
  selectVictimsOnNode,
  type Candidate,
} from '../../controlplane/scheduler/preemption.js';
import { defaultProfile } from '../../controlplane/scheduler/profile.js';
import type { KubeObject } from '../../proto/meta.js';
import { info, node, pod, type PodOpts } from './scheduler-fixtures.js';

const profile = defaultProfile('spread');
const NOW = Date.parse('2026-01-01T12:00:00Z');

function p(
  name: string,
  priority: number,
  o: PodOpts & {
    start?: string;
    labels?: Record<string, string>;
    deleting?: boolean;
    disruption?: boolean;
    nominated?: string;
  } = {},
): KubeObject {
  const base = pod(name, o);
  base.spec.priority = priority;
  if (o.start) base.status.startTime = o.start;
  if (o.labels) base.metadata.labels = o.labels;
  if (o.deleting) base.metadata.deletionTimestamp = '2026-01-01T12:00:30Z';
  if (o.disruption)
    base.status.conditions = [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }];
  if (o.nominated) base.status.nominatedNodeName = o.nominated;
  return base;
}

function pdb(name: string, match: Record<string, string>, allowed: number, disrupted: string[] = []): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: match } },
    status: {
      disruptionsAllowed: allowed,
      disruptedPods: Object.fromEntries(disrupted.map((d) => [d, '2026-01-01T11:59:00Z'])),
    },
  };
}

function fitError(preemptor: KubeObject, nodes: NodeInfo[], nominated?: Map<string, KubeObject[]>): FitError {
  const r = schedule(preemptor, nodes, profile, { nominated });
  if (!('error' in r)) throw new Error(`expected a FitError, got ${r.node}`);
  return r.error;
}

const names = (pods: readonly KubeObject[]) => pods.map((x) => x.metadata.name);

describe('selectVictimsOnNode', () => {
  const cpu = (c: string) => ({ requests: { cpu: c } });
  it.each([
    {
      name: 'the lowest-priority pod that makes room goes; the more important ones are reprieved',
      pods: [p('a', 10, cpu('1')), p('b', 5, cpu('1')), p('c', 1, cpu('1')), p('d', 0, cpu('1'))],
      preemptor: p('hi', 100, cpu('1')),
      want: ['d'],
      pdbViolations: 0,
    },
    {
      name: 'several victims when one is not enough, most important first',
      pods: [p('a', 10, cpu('1')), p('b', 5, cpu('1')), p('c', 1, cpu('1')), p('d', 0, cpu('1'))],
      preemptor: p('hi', 100, cpu('3')),
      want: ['b', 'c', 'd'],
      pdbViolations: 0,
    },
    {
      name: 'greedy reprieve in importance order: a big low pod stays out, the small higher one is kept',
      pods: [p('small', 5, cpu('500m')), p('big', 1, cpu('2')), p('other', 50, cpu('1500m'))],
      preemptor: p('hi', 100, cpu('2')),
      want: ['big'],
      pdbViolations: 0,
    },
    {
      name: 'equal priority: the pod that started later is less important and goes',
      pods: [
        p('old', 1, { ...cpu('2'), start: '2026-01-01T10:00:00Z' }),
        p('new', 1, { ...cpu('2'), start: '2026-01-01T11:00:00Z' }),
      ],
      preemptor: p('hi', 100, cpu('2')),
      want: ['new'],
      pdbViolations: 0,
    },
    {
      name: 'pods of equal or higher priority are never victims',
      pods: [p('same', 100, cpu('2')), p('low', 1, cpu('2'))],
      preemptor: p('hi', 100, cpu('4')),
      fails: ['Insufficient cpu'],
    },
    {
      name: 'no lower-priority pod at all',
      pods: [p('same', 100, cpu('4'))],
      preemptor: p('hi', 100, cpu('1')),
      fails: ['No preemption victims found for incoming pod'],
    },
    {
      name: 'a PDB-violating victim is reprieved first when either would do',
      pods: [
        p('guarded', 1, { ...cpu('2'), labels: { app: 'db' } }),
        p('free', 1, { ...cpu('2'), labels: { app: 'web' } }),
      ],
      pdbs: [pdb('db', { app: 'db' }, 0)],
      preemptor: p('hi', 100, cpu('2')),
      want: ['free'],
      pdbViolations: 0,
    },
    {
      name: 'violations counted when the guarded pod must go too',
      pods: [
        p('guarded', 1, { ...cpu('2'), labels: { app: 'db' } }),
        p('free', 1, { ...cpu('2'), labels: { app: 'web' } }),
      ],
      pdbs: [pdb('db', { app: 'db' }, 0)],
      preemptor: p('hi', 100, cpu('4')),
      want: ['guarded', 'free'],
      pdbViolations: 1,
    },
    {
      name: 'host ports: the pod holding the port goes even though cpu is plentiful',
      pods: [p('port', 1, { ports: [{ hostPort: 8080, containerPort: 80 }] }), p('plain', 0)],
      preemptor: p('hi', 100, { ports: [{ hostPort: 8080, containerPort: 80 }] }),
      want: ['port'],
      pdbViolations: 0,
    },
  ])('$name', ({ pods, preemptor, want, fails, pdbs, pdbViolations }) => {
    const n = info(node('n', { cpu: '4' }), pods);
    const ctx = newCycleContext(preemptor, [n]);
    const r = selectVictimsOnNode(ctx, preemptor, n, profile, pdbs ?? [], NOW);
    if (fails) {
      expect('pods' in r).toBe(false);
      if (!('pods' in r)) expect(r.reasons).toEqual(fails);
      return;
    }
    if (!('pods' in r)) throw new Error(`no victims: ${r.reasons.join(', ')}`);
    expect(names(r.pods)).toEqual(want);
    expect(r.numPDBViolations).toBe(pdbViolations);
  });
});

describe('filterPodsWithPDBViolation', () => {
  it('decrements each matching budget per pod, skips pods already disrupted, other namespaces and empty selectors', () => {
    const pods = [
      p('a1', 0, { labels: { app: 'a' } }),
      p('a2', 0, { labels: { app: 'a' } }),
      p('a3', 0, { labels: { app: 'a' } }),
      p('b1', 0, { labels: { app: 'b' } }),
      p('nolabels', 0),
      p('other-ns', 0, { labels: { app: 'a' }, namespace: 'x' }),
    ];
    const empty = { ...pdb('empty', {}, 0), spec: { selector: {} } };
    const r = filterPodsWithPDBViolation(pods, [pdb('a', { app: 'a' }, 1, ['a1']), pdb('b', { app: 'b' }, 0), empty]);
    // a1 is in disruptedPods (free), a2 takes the one allowed, a3 violates; b1 violates
    expect(names(r.violating)).toEqual(['a3', 'b1']);
    expect(names(r.nonViolating)).toEqual(['a1', 'a2', 'nolabels', 'other-ns']);
  });
});

describe('pickOneNodeForPreemption', () => {
  const c = (node: string, victims: KubeObject[], numPDBViolations = 0): Candidate => ({
    node,
    victims: { pods: victims, numPDBViolations },
  });
  it.each([
    {
      name: 'fewest PDB violations first',
      cands: [c('x', [p('v', 1)], 1), c('y', [p('v', 50), p('w', 40)], 0)],
      want: 'y',
    },
    {
      name: 'then the lowest highest-priority victim',
      cands: [c('x', [p('v', 10)]), c('y', [p('v', 5), p('w', 5), p('u', 5)])],
      want: 'y',
    },
    {
      name: 'then the smallest sum of priorities',
      cands: [c('x', [p('v', 10), p('w', 9)]), c('y', [p('v', 10), p('w', 1)])],
      want: 'y',
    },
    {
      name: 'negative priorities: fewer pods is the smaller sum',
      cands: [c('x', [p('v', -5), p('w', -5)]), c('y', [p('v', -5)])],
      want: 'y',
    },
    { name: 'then the fewest victims', cands: [c('x', [p('v', 0), p('w', 0)]), c('y', [p('v', 0)])], want: 'y' },
    {
      name: 'then the latest start of the highest-priority victims',
      cands: [
        c('x', [p('v', 3, { start: '2026-01-01T09:00:00Z' })]),
        c('y', [p('v', 3, { start: '2026-01-01T11:00:00Z' })]),
      ],
      want: 'y',
    },
    {
      name: 'then the first',
      cands: [
        c('x', [p('v', 3, { start: '2026-01-01T09:00:00Z' })]),
        c('y', [p('v', 3, { start: '2026-01-01T09:00:00Z' })]),
      ],
      want: 'x',
    },
  ])('$name', ({ cands, want }) => {
    expect(pickOneNodeForPreemption(cands, NOW)?.node).toBe(want);
  });

  it('moreImportantPod: priority, then earlier start; a pod not started counts as starting now', () => {
    expect(moreImportantPod(p('a', 2), p('b', 1), NOW)).toBe(true);
    expect(moreImportantPod(p('a', 1, { start: '2026-01-01T09:00:00Z' }), p('b', 1), NOW)).toBe(true);
    expect(moreImportantPod(p('a', 1), p('b', 1, { start: '2026-01-01T09:00:00Z' }), NOW)).toBe(false);
  });
});

describe('planPreemption', () => {
  const cpu = (c: string) => ({ requests: { cpu: c } });

  it('picks the node with the cheapest victims and skips nodes the preemptor cannot use (node selector)', () => {
    const nodes = [
      info(node('a', { cpu: '2' }), [p('a-mid', 50, cpu('2'))]),
      info(node('b', { cpu: '2' }), [p('b-low', 1, cpu('2'))]),
      info(node('c', { cpu: '2', labels: { disk: 'hdd' } }), [p('c-lowest', 0, cpu('2'))]),
    ];
    const hi = p('hi', 100, {
      ...cpu('1'),
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] }],
          },
        },
      },
    });
    const plan = planPreemption({
      pod: hi,
      nodeInfos: nodes,
      profile,
      fitError: fitError(hi, nodes),
      pdbs: [],
      now: NOW,
    });
    expect(plan).toMatchObject({ kind: 'preempt', candidate: { node: 'b', victims: { numPDBViolations: 0 } } });
    if (plan.kind === 'preempt') expect(names(plan.candidate.victims.pods)).toEqual(['b-low']);
  });

  it('says why nothing helps, as the dry run FitError (unresolvable nodes: not helpful)', () => {
    const nodes = [
      info(node('a', { cpu: '2' }), [p('a-same', 100, cpu('2'))]),
      info(node('b', { cpu: '2' }), [p('b-low', 1, cpu('1'))]),
      info(node('c', { cpu: '8', unschedulable: true })),
    ];
    const hi = p('hi', 100, cpu('3'));
    const fe = fitError(hi, nodes);
    expect(fe.message).toBe('0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.');
    const plan = planPreemption({ pod: hi, nodeInfos: nodes, profile, fitError: fe, pdbs: [], now: NOW });
    expect(plan).toEqual({
      kind: 'none',
      message:
        '0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    });
    fe.setPostFilterMsg(`preemption: ${plan.kind === 'none' ? plan.message : ''}`);
    expect(fe.message).toBe(
      '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling..',
    );
  });

  it('preemptionPolicy Never and a nominated node with victims still terminating are not eligible', () => {
    const nodes = [info(node('a', { cpu: '2' }), [p('low', 1, { ...cpu('2'), deleting: true, disruption: true })])];
    const never = p('never', 100, cpu('1'));
    never.spec.preemptionPolicy = 'Never';
    expect(podEligibleToPreemptOthers(never, nodes, fitError(never, nodes))).toEqual({
      ok: false,
      message: 'not eligible due to preemptionPolicy=Never.',
    });
    const waiting = p('waiting', 100, { ...cpu('1'), nominated: 'a' });
    expect(podEligibleToPreemptOthers(waiting, nodes, fitError(waiting, nodes))).toEqual({
      ok: false,
      message: 'not eligible due to a terminating pod on the nominated node.',
    });
    // terminating for another reason (no DisruptionTarget from preemption): eligible again
    const other = [info(node('a', { cpu: '2' }), [p('low', 1, { ...cpu('2'), deleting: true })])];
    expect(podEligibleToPreemptOthers(waiting, other, fitError(waiting, other))).toEqual({ ok: true });
    // a nominated node it can no longer use (cordoned): eligible
    const cordoned = [
      info(node('a', { cpu: '2', unschedulable: true }), [
        p('low', 1, { ...cpu('2'), deleting: true, disruption: true }),
      ]),
    ];
    expect(podEligibleToPreemptOthers(waiting, cordoned, fitError(waiting, cordoned))).toEqual({ ok: true });
  });
});

describe('nominated pods in filtering (addNominatedPods)', () => {
  it('a pod nominated with equal or higher priority holds its room against lower-priority pods; not against itself or higher ones', () => {
    const n = info(node('a', { cpu: '2' }), [p('running', 0, { requests: { cpu: '1' } })]);
    const hi = p('hi', 100, { requests: { cpu: '1' }, nominated: 'a' });
    const nominated = new Map([['a', [hi]]]);
    const check = (x: KubeObject) =>
      filterNodeWithNominated(newCycleContext(x, [n], undefined, nominated), x, n, profile.filters).fits;
    expect(check(p('low', 10, { requests: { cpu: '1' } }))).toBe(false);
    expect(check(p('equal', 100, { requests: { cpu: '1' } }))).toBe(false);
    expect(check(p('higher', 1000, { requests: { cpu: '1' } }))).toBe(true);
    expect(check(hi)).toBe(true);
    // the nominated pod goes to its node first
    const other = info(node('b', { cpu: '8' }));
    const r = schedule(hi, [n, other], profile, { nominated });
    expect(r).toEqual({ node: 'a' });
    const low = schedule(p('low', 10, { requests: { cpu: '1' } }), [n, other], profile, { nominated });
    expect(low).toEqual({ node: 'b' });
  });
});
