// Several servers as a user builds them (issue 16's whole picture): three etcd members from
// `install.sh etcd` on simulated hosts h1..h3, skiff-server A on h1 and B on h2 (B joins with
// A's token), agents on h1 and h2 given only A's URL. A Deployment created through A is served
// by B; kill -9 of A (the leader): B takes both Leases, its scheduler and controllers run a
// scale-up made through it, the agents learned B from default/kubernetes and reconnect there,
// logs and exec through B work; A's return makes no second leader; and every write a client
// got a 2xx for — through A before, through B during and after — is there at the end.
// Printed, not asserted: the time from the kill to the scaled-up pod Running.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, httpsRequest, k, kubectlAvailable, type AgentProc, type ServerProc } from './harness.js';
import { EtcdMembers } from './etcd-members.js';
import {
  HOSTS_HOOK_TIMEOUT_MS,
  hostsAvailable,
  hostsDown,
  hostsUp,
  rmrf,
  startHostAgent,
  startServerOnHost,
  waitFor,
  type Host,
} from './hosts.js';

const enabled = hostsAvailable('several-servers e2e test') && kubectlAvailable();
const LEASES = ['kube-controller-manager', 'kube-scheduler'];

describe.skipIf(!enabled)('three etcd members, two servers, two agents: losing the leading server', () => {
  let hosts: Host[] = [];
  let tmp = '';
  let etcd: EtcdMembers;
  let a: ServerProc;
  let b: ServerProc;
  const agents: AgentProc[] = [];
  const acked: string[] = [];

  const holder = (s: ServerProc, lease: string) =>
    k(s, ['get', 'lease', '-n', 'kube-system', lease, '-o', 'jsonpath={.spec.holderIdentity}']).trim();
  const leading = async (s: ServerProc): Promise<Record<string, number>> => {
    const r = await httpsRequest(s, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
    const out: Record<string, number> = {};
    for (const m of r.body.matchAll(/^leader_election_master_status\{name="([^"]+)"\} (\d+)$/gm))
      out[m[1]!] = Number(m[2]);
    return out;
  };
  /** one ConfigMap write; recorded only when the server acknowledged it */
  const write = async (s: ServerProc, name: string) => {
    const r = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { v: name },
    });
    if (r.status === 201) acked.push(name);
    return r.status;
  };
  const running = (s: ServerProc) =>
    k(s, ['get', 'pods', '-l', 'app=ha', '--field-selector=status.phase=Running', '-o', 'name'])
      .trim()
      .split('\n')
      .filter(Boolean).length;

  beforeAll(async () => {
    hosts = await hostsUp(3);
    tmp = mkdtempSync(join(tmpdir(), 'skiff-ha-cluster-'));
    etcd = new EtcdMembers(tmp, hosts);
    etcd.installAll();
    a = await startServerOnHost(hosts[0]!, [...etcd.serverFlags(), '--server-name', 'server-a']);
    // A elected itself before B exists: A is the leader this test kills
    await waitFor(
      () => {
        for (const l of LEASES) expect(holder(a, l)).toMatch(/^server-a_/);
      },
      30_000,
      'A holds both leader Leases',
    );
    b = await startServerOnHost(hosts[1]!, [
      ...etcd.serverFlags(),
      '--server-name',
      'server-b',
      '--token-file',
      join(a.dataDir, 'token'),
    ]);
    for (const h of hosts.slice(0, 2)) agents.push(startHostAgent(a, h));
    await waitFor(
      () => {
        const out = k(b, ['get', 'nodes', '--no-headers']);
        for (const h of hosts.slice(0, 2)) expect(out).toMatch(new RegExp(`^${h.name}\\s+Ready\\s`, 'm'));
      },
      60_000,
      'both nodes Ready',
    );
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    for (const ag of agents) await ag.kill('SIGKILL').catch(() => undefined);
    await b?.cleanup();
    await a?.cleanup();
    if (tmp) etcd.uninstallAll();
    await hostsDown();
    if (tmp) rmrf(tmp);
  }, 240_000);

  it('a Deployment created through A is served by B; the agents learned B from default/kubernetes', async () => {
    for (let i = 0; i < 10; i++) expect(await write(a, `via-a-${i}`)).toBe(201);
    k(a, [
      'create',
      'deployment',
      'ha',
      `--image=${BUSYBOX}`,
      '--replicas=2',
      '--',
      'sh',
      '-c',
      'echo ha-pod-says-hi; exec sleep 3600',
    ]);
    await waitFor(() => expect(running(b)).toBe(2), 90_000, 'two replicas Running (seen through B)');
    expect(k(b, ['get', 'deployment', 'ha', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('2');
    // every node's agent knows B by now: default/kubernetes lists both servers
    await waitFor(
      () => {
        const ports = k(b, ['get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[*].ports[*].port}']);
        expect(ports).toContain(String(b.port));
        expect(ports).toContain(String(a.port));
      },
      30_000,
      'both servers in default/kubernetes',
    );
    for (const ag of agents)
      await waitFor(
        () => expect(ag.output()).toContain('servers learned from the default/kubernetes endpoints'),
        30_000,
        `${ag.node} learned the servers`,
      );
  }, 180_000);

  it('kill -9 of A: B leads, schedules and scales; the agents move to B; logs and exec through B; no acknowledged write lost', async () => {
    await a.kill('SIGKILL');
    const killedAt = Date.now();
    // the API on B answers throughout; writes keep being recorded
    let n = 0;
    const writer = setInterval(() => {
      void write(b, `via-b-${n++}`).catch(() => undefined);
    }, 200);
    try {
      k(b, ['scale', 'deployment', 'ha', '--replicas=4']);
      await waitFor(
        () => {
          for (const l of LEASES) expect(holder(b, l)).toMatch(/^server-b_/);
        },
        40_000,
        'B holds both Leases',
      );
      const leasesAt = Date.now();
      await waitFor(() => expect(running(b)).toBe(4), 90_000, 'four replicas Running after the scale-up through B');
      console.log(
        `several servers: leader Leases on B ${((leasesAt - killedAt) / 1000).toFixed(1)} s after kill -9 of A; scaled-up pods Running ${((Date.now() - killedAt) / 1000).toFixed(1)} s after it`,
      );
      expect(await leading(b)).toEqual({ 'kube-controller-manager': 1, 'kube-scheduler': 1 });
      for (const h of hosts.slice(0, 2)) {
        await waitFor(
          () =>
            expect(
              k(b, ['get', 'node', h.name, '-o', 'jsonpath={.metadata.annotations.skiff\\.io/agent-server}']),
            ).toContain(`:${b.port}`),
          30_000,
          `${h.name}'s agent on B`,
        );
      }
      const pod = k(b, ['get', 'pods', '-l', 'app=ha', '-o', 'jsonpath={.items[0].metadata.name}']);
      expect(k(b, ['logs', pod])).toContain('ha-pod-says-hi');
      expect(k(b, ['exec', pod, '--', 'echo', 'exec-through-b']).trim()).toBe('exec-through-b');
    } finally {
      clearInterval(writer);
    }
    expect(n).toBeGreaterThan(0);

    // A comes back: a candidate, not a second leader
    await a.restart();
    await waitFor(
      async () => expect(await leading(a)).toEqual({ 'kube-controller-manager': 0, 'kube-scheduler': 0 }),
      30_000,
      'A back as a candidate',
    );
    for (const l of LEASES) expect(holder(a, l)).toMatch(/^server-b_/);
    expect(await leading(b)).toEqual({ 'kube-controller-manager': 1, 'kube-scheduler': 1 });

    // every acknowledged write, read back through both servers
    for (const s of [a, b]) {
      const names = new Set(k(s, ['get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}']).split(' '));
      const lost = acked.filter((x) => !names.has(x));
      expect(lost, `acknowledged writes missing on ${s === a ? 'A' : 'B'}`).toEqual([]);
    }
    expect(acked.length).toBeGreaterThan(10);
  }, 300_000);
});
