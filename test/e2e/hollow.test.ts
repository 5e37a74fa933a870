// Hollow agents (scripts/bench/hollow.mjs) against a real skiff-server and the real
// kubectl: 20 simulated nodes register and turn Ready, a Deployment of 50 replicas over
// them becomes available (pods Running with made-up IPs); a second hollow process keeps
// 3 healthy nodes (with every node unreachable the node lifecycle controller would stop
// evicting: full disruption; the zone thresholds are opened up, see beforeAll). kill -9 of the first process: its nodes go NotReady
// (Unknown), get the unreachable taint, their pods are evicted after the pods' short
// toleration and replaced on the healthy nodes until the Deployment is available again.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, eventually, k, startServer, type ServerProc } from './harness.js';

interface Hollow {
  proc: ChildProcess;
  output: () => string;
}

/** one hollow.mjs process; resolves once all its nodes are started */
function startHollow(s: ServerProc, prefix: string, nodes: number): Promise<Hollow> {
  const proc = spawn(
    process.execPath,
    [
      join(ROOT, 'scripts/bench/hollow.mjs'),
      '--server',
      s.url,
      '--token-file',
      join(s.dataDir, 'token'),
      '--nodes',
      String(nodes),
      '--prefix',
      prefix,
      '--start-delay-ms',
      '200',
      '--data-dir',
      join(s.dataDir, `hollow-${prefix}`),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      if (/nodes started/.test(out)) resolve({ proc, output: () => out });
    });
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    proc.on('exit', (code) => reject(new Error(`hollow.mjs exited ${code}:\n${out}`)));
  });
}

const nodeStatus = (s: ServerProc) =>
  new Map(
    k(s, ['get', 'nodes', '--no-headers'])
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/))
      .map((f) => [f[0]!, f[1]!]),
  );

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 50
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 0
      tolerations:
      - { key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
      - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
      containers:
      - name: web
        image: nginx
        resources: { requests: { cpu: 10m, memory: 16Mi } }
`;

describe('hollow agents', () => {
  let s: ServerProc;
  const hollows: Hollow[] = [];
  // kube-controller-manager's zone rules would taint 20 nodes of 23 at 0.01/s (a partially
  // disrupted zone) or 0.1/s: a zone counts as disrupted only when all its nodes are, and
  // the dead nodes are tainted at once
  beforeAll(async () => {
    s = await startServer(['--unhealthy-zone-threshold', '1', '--node-eviction-rate', '100']);
  }, 60_000);
  afterAll(async () => {
    for (const h of hollows) h.proc.kill('SIGKILL');
    await s?.cleanup();
  });

  it('20 hollow nodes run a Deployment of 50 replicas; kill -9 of their process makes them NotReady and their pods are evicted and replaced', async () => {
    hollows.push(await startHollow(s, 'hollow-a-', 20));
    await eventually(
      () => {
        const st = nodeStatus(s);
        expect([...st.values()].filter((v) => v === 'Ready')).toHaveLength(20);
      },
      60_000,
      500,
    );
    expect(
      k(s, [
        'get',
        'node',
        'hollow-a-7',
        '-o',
        'jsonpath={.status.capacity.cpu} {.status.nodeInfo.containerRuntimeVersion}',
      ]),
    ).toBe('4 hollow://0.0.0-hollow');

    expect(k(s, ['apply', '-f', '-'], DEPLOYMENT)).toContain('deployment.apps/web created');
    await eventually(
      () => {
        expect(k(s, ['get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}'])).toBe('50');
      },
      90_000,
      1000,
    );
    const running = k(s, [
      'get',
      'pods',
      '-l',
      'app=web',
      '-o',
      'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.status.podIP}{"\\n"}{end}',
    ])
      .trim()
      .split('\n');
    expect(running).toHaveLength(50);
    for (const line of running) expect(line).toMatch(/^hollow-a-\d+ Running 10\.64\.\d+\.\d+$/);
    // spread over the nodes (PodTopologySpread / balanced allocation): many of them used
    expect(new Set(running.map((l) => l.split(' ')[0])).size).toBeGreaterThanOrEqual(10);

    // healthy nodes that stay, then the first process dies without a word
    hollows.push(await startHollow(s, 'hollow-b-', 3));
    await eventually(
      () => {
        expect([...nodeStatus(s)].filter(([n, v]) => n.startsWith('hollow-b-') && v === 'Ready')).toHaveLength(3);
      },
      60_000,
      500,
    );
    hollows[0]!.proc.kill('SIGKILL');

    await eventually(
      () => {
        const st = nodeStatus(s);
        expect([...st].filter(([n, v]) => n.startsWith('hollow-a-') && v === 'NotReady')).toHaveLength(20);
      },
      90_000,
      1000,
    );
    expect(k(s, ['get', 'node', 'hollow-a-3', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe(
      'Unknown',
    );
    await eventually(
      () => {
        expect(k(s, ['get', 'node', 'hollow-a-3', '-o', 'jsonpath={.spec.taints[*].key}'])).toContain(
          'node.kubernetes.io/unreachable',
        );
      },
      60_000,
      1000,
    );

    // evicted (deleted: Terminating on a node that cannot confirm) and replaced on the healthy nodes
    await eventually(
      () => {
        const pods = k(s, [
          'get',
          'pods',
          '-l',
          'app=web',
          '-o',
          'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
        ])
          .trim()
          .split('\n');
        const deleting = (l: string) => (l.split(' ')[2] ?? '') !== '';
        const live = pods.filter((l) => !deleting(l));
        expect(pods.filter((l) => l.startsWith('hollow-a-')).every(deleting)).toBe(true);
        expect(live.filter((l) => /^hollow-b-\d+ Running/.test(l))).toHaveLength(50);
      },
      120_000,
      1000,
    );
    await eventually(
      () => {
        expect(k(s, ['get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}'])).toBe('50');
      },
      60_000,
      1000,
    );
    const events = k(s, [
      'get',
      'events',
      '--field-selector',
      'reason=TaintManagerEviction',
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    expect(events).toContain('TaintManagerEviction');
  }, 240_000);
});
