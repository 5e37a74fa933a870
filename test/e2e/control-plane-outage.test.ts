// A control-plane outage must not cost a single pod (issue: "a control-plane outage longer
// than ~25 s evicts every pod"). With real Docker, real agents and the real kubectl:
// - one node: skiff-server stopped for 60 s and started again; the same pods (UIDs), the
//   same containers (IDs) and no restarts afterwards, the bare pod included;
// - two simulated hosts: the same across a 60 s server outage; both hosts cut off from a
//   running server for 40 s (master disruption mode: no evictions, said by events and
//   metrics); and a server outage during which one host really dies: after the server is
//   back, only the dead host's pods are evicted, after the normal grace + toleration.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import {
  hostDocker,
  hostsAvailable,
  hostsDown,
  hostsUp,
  killHost,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** skiff's defaults: --node-grace-period 15s, --default-unreachable-toleration-seconds 10 */
const GRACE_PLUS_TOLERATION_MS = 25_000;
const OUTAGE_MS = 60_000;

interface PodFacts {
  name: string;
  uid: string;
  node: string;
  containerIDs: string[];
  restarts: number;
}

function podFacts(s: ServerProc): PodFacts[] {
  const items = JSON.parse(k(s, ['get', 'pods', '-o', 'json'])).items as {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    spec: { nodeName: string };
    status: { containerStatuses?: { containerID?: string; restartCount: number }[] };
  }[];
  return items
    .filter((p) => !p.metadata.deletionTimestamp)
    .map((p) => ({
      name: p.metadata.name,
      uid: p.metadata.uid,
      node: p.spec.nodeName,
      containerIDs: (p.status.containerStatuses ?? [])
        .map((c) => (c.containerID ?? '').replace(/^docker:\/\//, ''))
        .sort(),
      restarts: (p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** running app containers (not sandboxes) per pod UID, from a Docker engine */
function runningContainers(docker: (args: string[]) => string, node?: string): Map<string, string[]> {
  const out = docker([
    'ps',
    '--no-trunc',
    '--filter',
    'label=io.kubernetes.docker.type=container',
    ...(node ? ['--filter', `label=io.skiff.node=${node}`] : []),
    '--format',
    '{{.ID}} {{.Label "io.kubernetes.pod.uid"}}',
  ]).trim();
  const m = new Map<string, string[]>();
  for (const line of out ? out.split('\n') : []) {
    const [id, uid] = line.split(' ');
    m.set(uid!, [...(m.get(uid!) ?? []), id!].sort());
  }
  return m;
}

const localDocker = (args: string[]) => spawnSync('docker', args, { encoding: 'utf8' }).stdout;

function allRunning(s: ServerProc, n: number): void {
  const items = JSON.parse(k(s, ['get', 'pods', '-o', 'json'])).items as {
    status: { phase: string; containerStatuses?: { ready: boolean }[] };
  }[];
  expect(items).toHaveLength(n);
  for (const p of items) {
    expect(p.status.phase).toBe('Running');
    expect(p.status.containerStatuses?.every((c) => c.ready)).toBe(true);
  }
}

function leaseRenewedSince(s: ServerProc, node: string, sinceMs: number): void {
  const lease = JSON.parse(k(s, ['get', 'lease', '-n', 'kube-node-lease', node, '-o', 'json']));
  expect(Date.parse(lease.spec.renewTime)).toBeGreaterThan(sinceMs);
}

function evictionEvents(s: ServerProc): { name: string; at: number }[] {
  const items = JSON.parse(
    k(s, ['get', 'events', '-A', '--field-selector', 'reason=TaintManagerEviction', '-o', 'json']),
  ).items as {
    involvedObject: { name: string };
    firstTimestamp?: string;
    eventTime?: string;
    metadata: { creationTimestamp: string };
  }[];
  return items.map((e) => ({
    name: e.involvedObject.name,
    at: Date.parse(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
  }));
}

const sleeper = (name: string, replicas: number, spread = false) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
${
  spread
    ? `      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: ${name}}}}
`
    : ''
}      containers:
      - name: c
        image: ${BUSYBOX}
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

const barePod = (name: string, node?: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
${node ? `  nodeName: ${node}\n` : ''}  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
`;

describe.skipIf(!(dockerAvailable() && kubectlAvailable()))('control-plane outage, one node', () => {
  let s: ServerProc;
  let a: AgentProc;
  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('keeps the same pods and containers, without a restart, through a 60 s server outage', async () => {
    k(s, ['apply', '-f', '-'], sleeper('web', 3));
    k(s, ['apply', '-f', '-'], barePod('solo'));
    await eventually(() => allRunning(s, 4), 60_000, 300);
    const before = podFacts(s);
    const containersBefore = runningContainers(localDocker, a.node);
    expect(before).toHaveLength(4);
    for (const p of before) expect(containersBefore.get(p.uid)).toEqual(p.containerIDs);

    await s.kill('SIGTERM');
    const down = Date.now();
    await sleep(OUTAGE_MS / 2);
    // the agent and every container keep running while the control plane is away
    expect(runningContainers(localDocker, a.node)).toEqual(containersBefore);
    await sleep(Math.max(0, down + OUTAGE_MS - Date.now()));
    await s.restart();
    const up = Date.now();
    await eventually(() => leaseRenewedSince(s, a.node, up), 20_000, 200);
    console.log(`[outage] one node: agent back ${((Date.now() - up) / 1000).toFixed(1)} s after the server's restart`);

    // past the grace period and the toleration counted from the restart: nothing evicted
    await sleep(Math.max(0, up + GRACE_PLUS_TOLERATION_MS + 8_000 - Date.now()));
    expect(podFacts(s)).toEqual(before);
    expect(runningContainers(localDocker, a.node)).toEqual(containersBefore);
    expect(evictionEvents(s)).toEqual([]);
    expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/);
    expect(JSON.parse(k(s, ['get', 'node', a.node, '-o', 'json'])).spec.taints ?? []).toEqual([]);
    for (const p of podFacts(s)) expect(p.restarts).toBe(0);
  }, 240_000);
});

describe.skipIf(!hostsAvailable('control-plane outage e2e test'))('control-plane outage, two simulated hosts', () => {
  let hosts: Host[] = [];
  let s: HostServer;
  const agents: AgentProc[] = [];
  const diag = () =>
    `${kubectl(s, ['get', 'nodes,pods', '-o', 'wide']).stdout}\n${kubectl(s, ['get', 'events', '-A', '--sort-by=.lastTimestamp']).stdout.split('\n').slice(-20).join('\n')}\n${agents
      .map(
        (a) =>
          `--- agent ${a.node}\n${a
            .output()
            .split('\n')
            .filter((l) => /"level":[45]0/.test(l))
            .slice(-10)
            .join('\n')}`,
      )
      .join('\n')}\n--- server\n${s.output().split('\n').slice(-20).join('\n')}`;
  const docker = (h: Host) => (args: string[]) => hostDocker(h, args).stdout;
  /** app containers on both hosts, per pod UID */
  const containers = () => new Map([...runningContainers(docker(hosts[0]!)), ...runningContainers(docker(hosts[1]!))]);
  const link = (h: Host, state: 'up' | 'down') => {
    const r = spawnSync('ip', ['link', 'set', `skh-${h.name}`, state], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip link set skh-${h.name} ${state}: ${r.stderr}`);
  };
  const metric = async (name: string): Promise<number | undefined> => {
    const r = await httpsRequest(s, 'GET', '/metrics');
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.body);
    return m ? Number(m[1]) : undefined;
  };

  beforeAll(async () => {
    hosts = await hostsUp(2);
    s = await startHostServer();
    for (const h of hosts) agents.push(startHostAgent(s, h));
    await waitFor(
      () => {
        for (const h of hosts) expect(k(s, ['get', 'node', h.name])).toMatch(/\sReady\s/);
      },
      30_000,
      'both hosts Ready',
    );
    k(s, ['apply', '-f', '-'], sleeper('web', 4, true));
    k(s, ['apply', '-f', '-'], barePod('solo-h1', 'h1'));
    k(s, ['apply', '-f', '-'], barePod('solo-h2', 'h2'));
    await waitFor(() => allRunning(s, 6), 90_000, 'six pods Running').catch((e) => {
      throw new Error(`${(e as Error).message}\n${diag()}`);
    });
  }, HOSTS_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    for (const h of hosts) {
      try {
        link(h, 'up');
      } catch {
        /* gone */
      }
    }
    await hostsDown();
    await s?.cleanup();
  });

  it('keeps every pod and container on both hosts through a 60 s server outage', async () => {
    const before = podFacts(s);
    expect(new Set(before.map((p) => p.node))).toEqual(new Set(['h1', 'h2']));
    const containersBefore = containers();
    for (const p of before) expect(containersBefore.get(p.uid)).toEqual(p.containerIDs);

    await s.kill('SIGTERM');
    await sleep(OUTAGE_MS);
    await s.restart();
    const up = Date.now();
    await waitFor(
      () => {
        for (const h of hosts) leaseRenewedSince(s, h.name, up);
      },
      20_000,
      'both agents back',
    );
    console.log(
      `[outage] two hosts: agents back ${((Date.now() - up) / 1000).toFixed(1)} s after the server's restart`,
    );
    await sleep(Math.max(0, up + GRACE_PLUS_TOLERATION_MS + 8_000 - Date.now()));
    expect(podFacts(s), diag()).toEqual(before);
    expect(containers()).toEqual(containersBefore);
    expect(evictionEvents(s)).toEqual([]);
  }, 240_000);

  it('evicts nothing while both hosts are cut off from the server (master disruption mode)', async () => {
    const before = podFacts(s);
    const containersBefore = containers();
    for (const h of hosts) link(h, 'down');
    const cut = Date.now();
    try {
      await waitFor(
        () => {
          for (const h of hosts) expect(k(s, ['get', 'node', h.name])).toMatch(/\sNotReady\s/);
        },
        30_000,
        'both hosts NotReady',
      );
      await waitFor(
        async () => expect(await metric('skiff_node_collector_full_disruption')).toBe(1),
        10_000,
        'full disruption metric',
      );
      expect(await metric('node_collector_zone_health')).toBe(0);
      const reasons = JSON.parse(k(s, ['get', 'events', '--field-selector', 'reason=FullDisruption', '-o', 'json']))
        .items.map((e: { involvedObject: { name: string } }) => e.involvedObject.name)
        .sort();
      expect(reasons).toEqual(['h1', 'h2']);
      // no NoExecute taint, so nothing to evict, however long it lasts
      for (const h of hosts)
        expect(
          JSON.parse(k(s, ['get', 'node', h.name, '-o', 'json'])).spec.taints.map(
            (t: { key: string; effect: string }) => `${t.key}:${t.effect}`,
          ),
        ).toEqual(['node.kubernetes.io/unreachable:NoSchedule']);
      await sleep(Math.max(0, cut + 40_000 - Date.now()));
    } finally {
      for (const h of hosts) link(h, 'up');
    }
    const back = Date.now();
    await waitFor(
      () => {
        for (const h of hosts) expect(k(s, ['get', 'node', h.name])).toMatch(/\sReady\s/);
      },
      30_000,
      'both hosts Ready again',
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${diag()}`);
    });
    console.log(`[outage] links up: both nodes Ready ${((Date.now() - back) / 1000).toFixed(1)} s later`);
    await waitFor(
      async () => expect(await metric('skiff_node_collector_full_disruption')).toBe(0),
      10_000,
      'disruption mode left',
    );
    // a toleration's worth more: nothing is evicted after the hosts return either
    await sleep(12_000);
    expect(evictionEvents(s), diag()).toEqual([]);
    expect(podFacts(s).map((p) => ({ name: p.name, uid: p.uid, containerIDs: p.containerIDs }))).toEqual(
      before.map((p) => ({ name: p.name, uid: p.uid, containerIDs: p.containerIDs })),
    );
    expect(containers()).toEqual(containersBefore);
  }, 240_000);

  it("after a server outage during which a host died, evicts only the dead host's pods, after grace + toleration", async () => {
    const before = podFacts(s);
    const onH1 = before.filter((p) => p.node === 'h1');
    const onH2 = before.filter((p) => p.node === 'h2');
    expect(onH2.length).toBeGreaterThan(0);
    const h1Containers = runningContainers(docker(hosts[0]!));

    await s.kill('SIGTERM');
    await killHost(hosts[1]!);
    await sleep(OUTAGE_MS);
    await s.restart();
    const up = Date.now();

    // the Deployment's replicas all end up on h1; the bare pod of h2 is gone for good
    await waitFor(
      () => {
        const now = podFacts(s);
        expect(now.filter((p) => p.node === 'h2')).toEqual([]);
        const web = now.filter((p) => p.name.startsWith('web-'));
        expect(web).toHaveLength(4);
        allRunning(s, 5);
      },
      90_000,
      'h2 pods evicted and replaced on h1',
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${diag()}`);
    });
    console.log(
      `[outage] dead host: its pods replaced on the live host ${((Date.now() - up) / 1000).toFixed(1)} s after the server's restart`,
    );
    const evictions = evictionEvents(s);
    expect(evictions.map((e) => e.name).sort()).toEqual(onH2.map((p) => p.name).sort());
    // not before the dead host's fresh grace period and the pods' toleration ran out
    for (const e of evictions)
      expect(e.at).toBeGreaterThanOrEqual(Math.floor(up / 1000) * 1000 - 1000 + GRACE_PLUS_TOLERATION_MS - 2000);
    // the live host's pods: untouched
    const after = podFacts(s);
    for (const p of onH1) expect(after.find((q) => q.uid === p.uid)).toEqual(p);
    const h1Now = runningContainers(docker(hosts[0]!));
    for (const p of onH1) expect(h1Now.get(p.uid)).toEqual(h1Containers.get(p.uid));
    expect(k(s, ['get', 'pods', 'solo-h2', '--ignore-not-found'])).toBe('');
  }, 300_000);
});
