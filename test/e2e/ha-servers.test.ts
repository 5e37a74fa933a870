// Two skiff-server processes on one real etcd (Debian's etcd-server), driven with the real
// kubectl: one server holds both leader Leases (kube-controller-manager, kube-scheduler) and
// runs the controllers; both are in default/kubernetes. kill -9 of the leader: the other
// takes both Leases (client-go timings: 15 s lease, 2 s retry), its controllers act (a
// scaled Deployment gets its new pod), the dead server's address leaves the Endpoints; the
// restarted server stays a candidate (no second leader).
// The second server joins with the first one's token (the shared keys come from etcd).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, httpsRequest, k, kubectlAvailable, startServer, type ServerProc } from './harness.js';
import { startEtcd, type EtcdProcess } from '../unit/etcd-process.js';

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ha-web}
spec:
  replicas: 1
  selector: {matchLabels: {app: ha-web}}
  template:
    metadata: {labels: {app: ha-web}}
    spec:
      containers: [{name: c, image: skiff.local/busybox:1.36, command: [sleep, '3600']}]
`;

const holder = (s: ServerProc, lease: string) =>
  k(s, ['get', 'lease', '-n', 'kube-system', lease, '-o', 'jsonpath={.spec.holderIdentity}']).trim();
const transitions = (s: ServerProc, lease: string) =>
  Number(k(s, ['get', 'lease', '-n', 'kube-system', lease, '-o', 'jsonpath={.spec.leaseTransitions}']));
async function leading(s: ServerProc): Promise<Record<string, number>> {
  const r = await httpsRequest(s, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
  const out: Record<string, number> = {};
  for (const m of r.body.matchAll(/^leader_election_master_status\{name="([^"]+)"\} (\d+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}
function endpointPorts(s: ServerProc): number[] {
  const ep = JSON.parse(k(s, ['get', 'endpoints', 'kubernetes', '-o', 'json'])) as {
    subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[];
  };
  return ep.subsets.flatMap((x) => x.addresses.map(() => x.ports[0]!.port)).sort((a, b) => a - b);
}

describe.runIf(kubectlAvailable())('several skiff-servers on one etcd: leader election and default/kubernetes', () => {
  let etcd: EtcdProcess;
  let one: ServerProc;
  let two: ServerProc;
  beforeAll(async () => {
    etcd = await startEtcd();
    one = await startServer(['--datastore-endpoint', etcd.endpoint, '--server-name', 'ha-one']);
    two = await startServer([
      '--datastore-endpoint',
      etcd.endpoint,
      '--server-name',
      'ha-two',
      '--token-file',
      join(one.dataDir, 'token'),
    ]);
  }, 90_000);
  afterAll(async () => {
    await two?.cleanup();
    await one?.cleanup();
    await etcd?.stop();
  });

  it('one leader; kill -9 moves both Leases and the controllers; the dead server leaves the Endpoints; a restart makes no second leader', async () => {
    // the first server elected itself at once; the second waits (its elector starts just after /readyz answers)
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      expect(holder(two, lease)).toMatch(/^ha-one_[0-9a-f-]{36}$/);
      expect(transitions(two, lease)).toBe(0);
    }
    expect(await leading(one)).toEqual({ 'kube-controller-manager': 1, 'kube-scheduler': 1 });
    await eventually(
      async () => expect(await leading(two)).toEqual({ 'kube-controller-manager': 0, 'kube-scheduler': 0 }),
      10_000,
      250,
    );
    // both serve the API and both are in default/kubernetes, each with its identity Lease
    await eventually(() => expect(endpointPorts(two)).toEqual([one.port, two.port].sort((a, b) => a - b)), 10_000, 250);
    const identities = k(one, [
      'get',
      'lease',
      '-n',
      'kube-system',
      '-l',
      'apiserver.kubernetes.io/identity=kube-apiserver',
      '-o',
      'jsonpath={.items[*].metadata.labels.kubernetes\\.io/hostname}',
    ])
      .split(' ')
      .sort();
    expect(identities).toEqual(['ha-one', 'ha-two']);
    expect(holder(one, 'kube-controller-manager')).toMatch(/^ha-one_/);

    // the leader's controllers act on what is written through the other server
    k(two, ['apply', '-f', '-'], DEPLOY);
    await eventually(
      () => expect(k(two, ['get', 'pods', '-l', 'app=ha-web', '-o', 'name']).trim().split('\n')).toHaveLength(1),
      30_000,
      250,
    );

    await one.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(
      () => {
        expect(holder(two, 'kube-controller-manager')).toMatch(/^ha-two_/);
        expect(holder(two, 'kube-scheduler')).toMatch(/^ha-two_/);
      },
      40_000,
      250,
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(`both Leases held by the survivor ${(takeoverMs / 1000).toFixed(1)} s after kill -9 of the leader`);
    const newHolder = holder(two, 'kube-controller-manager');
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) expect(transitions(two, lease)).toBe(1);
    await eventually(
      async () => expect(await leading(two)).toEqual({ 'kube-controller-manager': 1, 'kube-scheduler': 1 }),
      5000,
      100,
    );

    // its controllers act: scaling through it creates the new ReplicaSet pod
    k(two, ['scale', 'deploy', 'ha-web', '--replicas=2']);
    await eventually(
      () => expect(k(two, ['get', 'pods', '-l', 'app=ha-web', '-o', 'name']).trim().split('\n')).toHaveLength(2),
      30_000,
      250,
    );
    // the dead server leaves default/kubernetes once its identity Lease is not renewed for 15 s
    await eventually(() => expect(endpointPorts(two)).toEqual([two.port]), 40_000, 500);

    // restarted, the old leader is a candidate: its first try lost to the live Lease
    await one.restart();
    await eventually(
      async () => expect(await leading(one)).toEqual({ 'kube-controller-manager': 0, 'kube-scheduler': 0 }),
      20_000,
      250,
    );
    const renewed = k(two, [
      'get',
      'lease',
      '-n',
      'kube-system',
      'kube-controller-manager',
      '-o',
      'jsonpath={.spec.renewTime}',
    ]);
    // after the survivor renewed again (and the restarted server tried again), still one leader
    await eventually(
      () =>
        expect(
          k(two, ['get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'jsonpath={.spec.renewTime}']),
        ).not.toBe(renewed),
      10_000,
      250,
    );
    for (const lease of ['kube-controller-manager', 'kube-scheduler']) {
      expect(holder(one, lease)).toBe(newHolder);
      expect(transitions(one, lease)).toBe(1);
    }
    expect(await leading(one)).toEqual({ 'kube-controller-manager': 0, 'kube-scheduler': 0 });
    expect(await leading(two)).toEqual({ 'kube-controller-manager': 1, 'kube-scheduler': 1 });
    // and it is back in default/kubernetes
    await eventually(() => expect(endpointPorts(two)).toEqual([one.port, two.port].sort((a, b) => a - b)), 20_000, 500);
  }, 150_000);
});
