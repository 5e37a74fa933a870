// default/kubernetes from the servers' identity Leases (kube-apiserver's lease endpoint
// reconciler): the Lease name as kube-apiserver hashes it, which servers count as live
// (local clock), the Endpoints/EndpointSlices for them (one server: exactly the
// single-server objects), and two reconcilers on one store with a fake clock: both listed,
// a clean stop removes one at once, a dead one drops out after the TTL, the last one is
// never removed, expired Leases are collected.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { microTime } from '../../controlplane/leader/lease-plan.js';
import { EndpointReconciler } from '../../controlplane/peers/endpoint-reconciler.js';
import {
  apiServerId,
  desiredEndpoints,
  liveServers,
  IDENTITY_LABEL,
  PEER_ADDRESS_ANNOTATION,
  type SeenRenewals,
} from '../../controlplane/peers/kubernetes-endpoints.js';
import type { KubeObject } from '../../proto/meta.js';
import { FakeClock } from './fake-clock.js';

const leaseDef = findResource('coordination.k8s.io', 'v1', 'leases')!;
const epDef = findResource('', 'v1', 'endpoints')!;
const sliceDef = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
const log = pino({ level: 'silent' });

describe('kubernetes endpoints from identity Leases (pure)', () => {
  it('names the Lease as kube-apiserver: apiserver- + base32(sha256(hostname, "kube-apiserver"))[:16] in lower case', () => {
    // values computed independently (Python hashlib + base64.b32encode)
    expect(apiServerId('master-1')).toBe('apiserver-wj467rbl25eeviqacfhvg2yvnm');
    expect(apiServerId('myhost')).toBe('apiserver-eqwsatu4lrpqig5wtp5dvzxufm');
  });

  const lease = (name: string, addr: string | undefined, renewTime: string): KubeObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: 'kube-system',
      labels: { [IDENTITY_LABEL]: 'kube-apiserver' },
      annotations: addr ? { [PEER_ADDRESS_ANNOTATION]: addr } : {},
    },
    spec: { holderIdentity: `${name}_x`, leaseDurationSeconds: 3600, renewTime },
  });

  it('live: renewed (changed) within the TTL on the local clock; first sight counts as now; self always; bad addresses skipped', () => {
    const t = 1_000_000;
    const seen: SeenRenewals = new Map([
      ['b', { renewTime: 'r1', at: t - 16_000 }],
      ['c', { renewTime: 'old', at: t - 16_000 }],
    ]);
    const leases = [
      lease('a', '10.0.0.1:6443', 'r0'),
      lease('b', '10.0.0.2:6443', 'r1'),
      lease('c', '10.0.0.3:6443', 'new'),
      lease('d', 'nonsense', 'r'),
      lease('self', '10.0.0.9:6443', 'r1'),
      { ...lease('e', '10.0.0.5:6443', 'r'), metadata: { ...lease('e', '10.0.0.5:6443', 'r').metadata, labels: {} } },
    ];
    seen.set('self', { renewTime: 'r1', at: 0 });
    const r = liveServers(leases, seen, t, 15_000, 'self');
    expect(r.live.map((s) => s.ip)).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.9']);
    expect(r.seen.get('c')).toEqual({ renewTime: 'new', at: t });
    expect(r.seen.has('e')).toBe(false);
  });

  it('one server gives exactly the single-server objects; several share one subset per port', () => {
    expect(desiredEndpoints([{ ip: '192.168.1.5', port: 6443 }])).toEqual({
      subsets: [{ addresses: [{ ip: '192.168.1.5' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
      slices: [
        {
          name: 'kubernetes',
          endpoints: [{ addresses: ['192.168.1.5'], conditions: { ready: true } }],
          ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
        },
      ],
    });
    const d = desiredEndpoints([
      { ip: '10.0.0.10', port: 6443 },
      { ip: '10.0.0.9', port: 6443 },
      { ip: '10.0.0.9', port: 7443 },
    ]);
    expect(d.subsets).toEqual([
      { addresses: [{ ip: '10.0.0.9' }, { ip: '10.0.0.10' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.9' }], ports: [{ name: 'https', port: 7443, protocol: 'TCP' }] },
    ]);
    expect(d.slices.map((s) => s.name)).toEqual(['kubernetes', 'kubernetes-7443']);
  });
});

describe('EndpointReconciler: two servers on one store', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  let clock: FakeClock;
  const running: EndpointReconciler[] = [];
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
    clock = new FakeClock();
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    await store.close();
  });
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      await Promise.all(running.map((r) => r.settled()));
    }
  };
  const advance = (ms: number) => clock.advance(ms, settle);
  const server = (name: string, ip: string, port = 6443) => {
    const r = new EndpointReconciler({ storage, serverName: name, endpoint: { ip, port }, log, clock });
    running.push(r);
    return r;
  };
  const endpointIPs = async () =>
    ((await storage.get(epDef, 'default', 'kubernetes')).subsets ?? []).flatMap(
      (s: { addresses: { ip: string }[]; ports: { port: number }[] }) =>
        s.addresses.map((a) => `${a.ip}:${s.ports[0]!.port}`),
    );
  const sliceIPs = async () =>
    (await storage.list(sliceDef, 'default', { labelSelector: 'kubernetes.io/service-name=kubernetes' })).items
      .flatMap((s) =>
        (s.endpoints as { addresses: string[] }[]).map(
          (e) => `${e.addresses[0]}:${(s.ports as { port: number }[])[0]!.port}`,
        ),
      )
      .sort();

  it('lists both; a clean stop removes one at once; a dead one drops out after the TTL; the last one stays', async () => {
    const a = server('server-a', '10.0.0.1');
    await a.start();
    const lease = await storage.get(leaseDef, 'kube-system', apiServerId('server-a'));
    expect(lease.metadata.labels).toEqual({
      'apiserver.kubernetes.io/identity': 'kube-apiserver',
      'kubernetes.io/hostname': 'server-a',
    });
    expect(lease.metadata.annotations).toEqual({ 'kubernetes.io/peer-advertise-address': '10.0.0.1:6443' });
    expect(lease.spec).toMatchObject({
      holderIdentity: a.holderIdentity,
      leaseDurationSeconds: 3600,
      renewTime: microTime(clock.now()),
    });
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443']);
    const b = server('server-b', '10.0.0.2');
    await b.start();
    await advance(10_000);
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443', '10.0.0.2:6443']);
    expect(await sliceIPs()).toEqual(['10.0.0.1:6443', '10.0.0.2:6443']);

    // clean stop: b deletes its Lease and takes itself out
    await b.stop();
    running.splice(running.indexOf(b), 1);
    expect(await storage.tryGet(leaseDef, 'kube-system', apiServerId('server-b'))).toBeUndefined();
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443']);

    // a server that dies (no more renewals, Lease left behind) drops out once a has not seen it renewed for 15 s
    const c = new EndpointReconciler({
      storage,
      serverName: 'server-c',
      endpoint: { ip: '10.0.0.3', port: 6443 },
      log,
      clock,
    });
    await c.runOnce();
    await advance(10_000);
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443', '10.0.0.3:6443']);
    await advance(20_000);
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443']);
    expect(await storage.tryGet(leaseDef, 'kube-system', apiServerId('server-c'))).toBeDefined();

    // the last server's clean stop leaves the Endpoints as they are (never empty)
    await a.stop();
    running.splice(0);
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443']);
  });

  it('servers on one address with different ports: a subset and a slice per port, the extra slice removed with its server', async () => {
    const a = server('server-a', '10.0.0.1', 6443);
    await a.start();
    const b = server('server-b', '10.0.0.1', 7443);
    await b.start();
    await advance(10_000);
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443', '10.0.0.1:7443']);
    expect(await sliceIPs()).toEqual(['10.0.0.1:6443', '10.0.0.1:7443']);
    await b.stop();
    running.splice(running.indexOf(b), 1);
    expect(await sliceIPs()).toEqual(['10.0.0.1:6443']);
    expect(await storage.tryGet(sliceDef, 'default', 'kubernetes-7443')).toBeUndefined();
  });

  it('a restarted server of the same name takes its Lease over; Leases expired for an hour are deleted', async () => {
    const a1 = new EndpointReconciler({
      storage,
      serverName: 'server-a',
      endpoint: { ip: '10.0.0.1', port: 6443 },
      log,
      clock,
    });
    await a1.runOnce();
    const stale = new EndpointReconciler({
      storage,
      serverName: 'gone',
      endpoint: { ip: '10.0.0.7', port: 6443 },
      log,
      clock,
    });
    await stale.runOnce();
    await advance(3_601_000);
    const a2 = server('server-a', '10.0.0.1');
    await a2.start();
    const l = await storage.get(leaseDef, 'kube-system', apiServerId('server-a'));
    expect(l.spec.holderIdentity).toBe(a2.holderIdentity);
    expect(a2.holderIdentity).not.toBe(a1.holderIdentity);
    expect(await storage.tryGet(leaseDef, 'kube-system', apiServerId('gone'))).toBeUndefined();
    expect(await endpointIPs()).toEqual(['10.0.0.1:6443']);
  });
});
