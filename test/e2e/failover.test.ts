// Node failure with default settings: kill -9 one agent for good; its node goes
// Unknown after the 15 s grace period, its pods are evicted after the 10 s toleration,
// and the Deployment's pods run on the other node. When the dead agent returns, the
// containers of its evicted pods are removed.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

function nodeContainers(node: string, podUid: string): string[] {
  const out = spawnSync(
    'docker',
    ['ps', '-q', '--filter', `label=io.skiff.node=${node}`, '--filter', `label=io.kubernetes.pod.uid=${podUid}`],
    { encoding: 'utf8' },
  ).stdout.trim();
  return out ? out.split('\n') : [];
}

describe.skipIf(!enabled)('node failure and rescheduling (default settings)', () => {
  let s: ServerProc;
  let a: AgentProc;
  let b: AgentProc;

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    b = startAgent(s);
    await eventually(
      () => {
        expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/);
        expect(k(s, ['get', 'node', b.node])).toMatch(/\sReady\s/);
      },
      20_000,
      200,
    );
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    await b?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    if (b) removeNodeContainers(b.node);
    await s?.cleanup();
  });

  it("moves a dead node's Deployment pods to the live node within 30 s, and cleans up when it returns", async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`,
    );
    const pods = () => JSON.parse(k(s, ['get', 'pods', '-l', 'app=web', '-o', 'json'])).items as any[];
    await eventually(
      () => {
        const ps = pods();
        expect(ps.filter((p) => p.status.phase === 'Running')).toHaveLength(4);
        // the scheduler spreads one owner's replicas over both nodes
        expect(new Set(ps.map((p) => p.spec.nodeName))).toEqual(new Set([a.node, b.node]));
      },
      60_000,
      300,
    );
    const onA = pods().filter((p) => p.spec.nodeName === a.node);
    expect(onA.length).toBeGreaterThan(0);

    const t0 = Date.now();
    await a.kill('SIGKILL');
    await eventually(
      () => {
        const ps = pods().filter((p) => !p.metadata.deletionTimestamp);
        expect(ps).toHaveLength(4);
        expect(ps.every((p) => p.spec.nodeName === b.node && p.status.phase === 'Running')).toBe(true);
      },
      60_000,
      500,
    );
    const seconds = (Date.now() - t0) / 1000;
    console.log(`failover: all 4 pods Running on the live node ${seconds.toFixed(1)} s after the agent was killed`);
    expect(seconds).toBeLessThan(45); // the goal is 30 s (see scripts/bench/failover.mjs); leave CI some slack
    const node = JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json']));
    expect(node.status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('Unknown');
    expect(node.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`)).toEqual(
      expect.arrayContaining(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']),
    );
    expect(k(s, ['get', 'events', '--field-selector', 'reason=TaintManagerEviction', '-o', 'name']).trim()).not.toBe(
      '',
    );

    // the dead node comes back: Ready again, untainted, and its evicted pods' containers are gone
    await a.restart();
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 300);
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json'])).spec.taints ?? []).toEqual([]),
      10_000,
      300,
    );
    await eventually(
      () => {
        for (const p of onA) expect(nodeContainers(a.node, p.metadata.uid)).toEqual([]);
      },
      30_000,
      500,
    );
  });
});
