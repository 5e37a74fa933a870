// Scheduler preemption end to end: a real server, one agent on real Docker whose node
// takes two pods (--max-pods 2), the real kubectl. Two pods of PriorityClass `low` fill
// the node; a pod of class `high` does not fit ("Too many pods"), is nominated to the node,
// one low pod gets DisruptionTarget (PreemptionByScheduler), is deleted gracefully with a
// Preempted Event, and the high pod runs there. A pod whose class says
// preemptionPolicy Never stays Pending and disrupts nobody.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectlAvailable,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const pod = (name: string, cls: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {tier: ${cls}}}
spec:
  priorityClassName: ${cls}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; priority?: number };
  status: {
    phase?: string;
    nominatedNodeName?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

describe('scheduler preemption with kubectl and Docker', () => {
  let s: ServerProc;
  let a: AgentProc;

  beforeAll(async () => {
    expect(dockerAvailable(), 'docker').toBe(true);
    expect(kubectlAvailable(), 'kubectl').toBe(true);
    s = await startServer();
    a = startAgent(s, { args: ['--max-pods', '2'] });
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 250);
  }, 60_000);
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  const get = (name: string): PodJson => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json'])) as PodJson;
  const list = (): PodJson[] => (JSON.parse(k(s, ['get', 'pods', '-o', 'json'])) as { items: PodJson[] }).items;

  it('a high-priority pod preempts a low one and runs; preemptionPolicy Never waits', async () => {
    expect(k(s, ['create', 'priorityclass', 'low', '--value=100'])).toContain(
      'priorityclass.scheduling.k8s.io/low created',
    );
    expect(k(s, ['create', 'priorityclass', 'high', '--value=1000'])).toContain(
      'priorityclass.scheduling.k8s.io/high created',
    );
    expect(k(s, ['create', 'priorityclass', 'high-never', '--value=1000', '--preemption-policy=Never'])).toContain(
      'created',
    );
    k(s, ['apply', '-f', '-'], `${pod('low-1', 'low')}---\n${pod('low-2', 'low')}`);
    await eventually(
      () => {
        for (const n of ['low-1', 'low-2']) {
          const p = get(n);
          expect(p.spec.nodeName).toBe(a.node);
          expect(p.status.phase).toBe('Running');
        }
      },
      45_000,
      250,
    );

    // every state of the low pods, as a watch sees it: the condition shows before they go
    const watch = kubectlBg(s, [
      'get',
      'pods',
      '-l',
      'tier=low',
      '-w',
      '-o',
      'jsonpath={.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="DisruptionTarget")].reason}{"\\n"}',
    ]);
    try {
      k(s, ['apply', '-f', '-'], pod('high', 'high'));
      const high = await eventually(
        () => {
          const p = get('high');
          expect(p.spec.priority).toBe(1000);
          expect(p.status.nominatedNodeName).toBe(a.node);
          return p;
        },
        30_000,
        250,
      );
      const victim = await eventually(
        () => {
          const m = /^(low-[12]) \S+ PreemptionByScheduler$/m.exec(watch.out());
          expect(m, watch.out()).toBeTruthy();
          return m![1]!;
        },
        30_000,
        200,
      );
      const survivor = victim === 'low-1' ? 'low-2' : 'low-1';

      // the preemptor runs on the node once the victim is gone
      await eventually(
        () => {
          const p = get('high');
          expect(p.spec.nodeName).toBe(a.node);
          expect(p.status.phase).toBe('Running');
        },
        45_000,
        250,
      );
      expect(
        list()
          .map((p) => p.metadata.name)
          .sort(),
      ).toEqual(['high', survivor]);

      const events = (
        JSON.parse(k(s, ['get', 'events', '-o', 'json'])) as {
          items: Array<{ reason: string; message: string; type: string; involvedObject: { name: string } }>;
        }
      ).items;
      expect(events.find((e) => e.reason === 'Preempted')).toMatchObject({
        type: 'Normal',
        involvedObject: { name: victim },
        message: `Preempted by pod ${high.metadata.uid} on node ${a.node}`,
      });
      expect(k(s, ['get', 'events', '--field-selector', `involvedObject.name=${victim}`])).toMatch(
        /Normal\s+Preempted\s+pod\/low-[12]\s+Preempted by pod/,
      );
    } finally {
      watch.proc.kill();
    }
    const metrics = (await httpsRequest(s, 'GET', '/metrics')).body;
    expect(Number(/^scheduler_preemption_attempts_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^scheduler_preemption_victims_count 1$/m);
    expect(metrics).toMatch(/^scheduler_preemption_victims_bucket\{le="1"\} 1$/m);

    // Never: waits, nobody is disrupted
    k(s, ['apply', '-f', '-'], pod('never', 'high-never'));
    await eventually(
      () => {
        const p = get('never');
        const c = (p.status.conditions ?? []).find((x) => x.type === 'PodScheduled');
        expect(c).toMatchObject({ status: 'False', reason: 'Unschedulable' });
        expect(c!.message).toBe(
          '0/1 nodes are available: 1 Too many pods. preemption: not eligible due to preemptionPolicy=Never..',
        );
      },
      30_000,
      250,
    );
    const still = list();
    expect(still.filter((p) => p.metadata.deletionTimestamp)).toEqual([]);
    expect(still.find((p) => p.metadata.name === 'never')!.status.phase).toBe('Pending');
    expect(k(s, ['get', 'pod', 'never', '-o', 'wide'])).toMatch(
      /^never\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>/m,
    );
  }, 120_000);
});
