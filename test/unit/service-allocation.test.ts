// Service ClusterIP / NodePort allocation through the real API write path: the allocators
// on their own (ranges, bands, exhaustion) and ApiStorage with the Service allocate hook
// (static and dynamic values, conflicts, dry run, updates, type changes, concurrency).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { ApiError } from '../../controlplane/api/errors.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { IPAllocator, PortAllocator } from '../../controlplane/services/allocator.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

const svcDef = findResource('', 'v1', 'services')!;

function svc(name: string, spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('IPAllocator', () => {
  it('never hands out the network or broadcast address and fills the whole range', () => {
    const a = new IPAllocator('10.43.0.0/28');
    expect(a.size).toBe(14);
    const got = new Set<string>();
    for (let i = 0; i < 14; i++) got.add(a.allocateNext());
    expect(got.size).toBe(14);
    expect(got.has('10.43.0.0')).toBe(false);
    expect(got.has('10.43.0.15')).toBe(false);
    expect(() => a.allocateNext()).toThrow('range is full');
  });

  it('allocates from the upper range first, keeping the low band for static IPs', () => {
    const a = new IPAllocator('10.43.0.0/16');
    for (let i = 0; i < 200; i++) {
      const last = a.allocateNext().split('.').map(Number);
      expect(last[2]! * 256 + last[3]!).toBeGreaterThan(256);
    }
  });

  it('rejects taken and out-of-range addresses with Kubernetes messages', () => {
    const a = new IPAllocator('10.43.0.0/16', ['10.43.0.10']);
    expect(() => a.allocate('10.43.0.10')).toThrow('provided IP is already allocated');
    expect(() => a.allocate('10.0.0.1')).toThrow(
      'the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16',
    );
    expect(() => a.allocate('10.43.0.0')).toThrow('not in the valid range');
    expect(() => a.allocate('10.43.255.255')).toThrow('not in the valid range');
    a.allocate('10.43.0.11');
    expect(a.has('10.43.0.11')).toBe(true);
  });
});

describe('PortAllocator', () => {
  it('fills a small range, then reports it full', () => {
    const p = new PortAllocator({ min: 30000, max: 30009 });
    const got = new Set<number>();
    for (let i = 0; i < 10; i++) got.add(p.allocateNext());
    expect([...got].sort()).toEqual([30000, 30001, 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30009]);
    expect(() => p.allocateNext()).toThrow('range is full');
  });

  it('checks requested ports against the range and the ports in use', () => {
    const p = new PortAllocator({ min: 30000, max: 32767 }, [30080]);
    expect(() => p.allocate(30080)).toThrow('provided port is already allocated');
    expect(() => p.allocate(80)).toThrow(
      'provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
    p.allocate(30081);
    const n = p.allocateNext();
    expect(n).toBeGreaterThanOrEqual(30000 + 86);
  });
});

describe('Service allocation through ApiStorage', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  const create = (o: any, dryRun = false) => storage.create(svcDef, 'default', o, { dryRun });

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store, undefined, {
      network: { serviceCidr: '10.43.0.0/16', nodePortRange: { min: 30000, max: 32767 } },
    });
    await seedNamespaces(storage);
  });
  afterEach(async () => {
    await store.close();
  });

  it('gives a ClusterIP from the service CIDR and fills the IP family fields', async () => {
    const s = await create(svc('a'));
    expect(s.spec.clusterIP).toMatch(/^10\.43\.\d+\.\d+$/);
    expect(s.spec.clusterIPs).toEqual([s.spec.clusterIP]);
    expect(s.spec.ipFamilies).toEqual(['IPv4']);
    expect(s.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(s.spec.ports[0].nodePort).toBeUndefined();
  });

  it('honours a requested ClusterIP once and rejects it the second time', async () => {
    const a = await create(svc('a', { clusterIP: '10.43.0.50' }));
    expect(a.spec.clusterIPs).toEqual(['10.43.0.50']);
    const e = await rejection(create(svc('b', { clusterIP: '10.43.0.50' })));
    expect(e.code).toBe(422);
    expect(e.message).toBe(
      'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.0.50"}: failed to allocate IP 10.43.0.50: provided IP is already allocated',
    );
    const out = await rejection(create(svc('c', { clusterIP: '10.96.0.1' })));
    expect(out.message).toContain(
      'failed to allocate IP 10.96.0.1: the provided IP (10.96.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16',
    );
    expect(out.toStatus().details?.causes?.[0]?.field).toBe('spec.clusterIPs');
    const bad = await rejection(create(svc('d', { clusterIP: 'x.y' })));
    expect(bad.message).toContain('spec.clusterIPs[0]: Invalid value: "x.y": must be a valid IP address');
  });

  it('gives headless and ExternalName services no address', async () => {
    const h = await create(svc('h', { clusterIP: 'None' }));
    expect(h.spec.clusterIPs).toEqual(['None']);
    expect(h.spec.ipFamilyPolicy).toBe('SingleStack');
    const hn = await create({
      ...svc('hn', { clusterIP: 'None' }),
      spec: { clusterIP: 'None', ports: [{ port: 80 }] },
    });
    expect(hn.spec.ipFamilyPolicy).toBe('RequireDualStack');
    expect(hn.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    const x = await create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { type: 'ExternalName', externalName: 'example.com' },
    });
    expect(x.spec.clusterIP).toBeUndefined();
    expect(x.spec.ipFamilies).toBeUndefined();
  });

  it('does not keep what a dry run allocated', async () => {
    const d = await create(
      svc('a', { clusterIP: '10.43.0.60', type: 'NodePort', ports: [{ port: 80, nodePort: 30060 }] }),
      true,
    );
    expect(d.spec.clusterIP).toBe('10.43.0.60');
    const real = await create(
      svc('b', { clusterIP: '10.43.0.60', type: 'NodePort', ports: [{ port: 80, nodePort: 30060 }] }),
    );
    expect(real.spec.ports[0].nodePort).toBe(30060);
  });

  it('allocates node ports per service port number, requested ones checked for range and conflicts', async () => {
    const a = await create(
      svc('a', {
        type: 'NodePort',
        ports: [
          { name: 'tcp', port: 53, protocol: 'TCP' },
          { name: 'udp', port: 53, protocol: 'UDP' },
          { name: 'web', port: 80 },
        ],
      }),
    );
    const [t, u, w] = a.spec.ports;
    expect(t.nodePort).toBe(u.nodePort);
    expect(w.nodePort).not.toBe(t.nodePort);
    for (const p of a.spec.ports) expect(p.nodePort).toBeGreaterThanOrEqual(30000);
    const taken = await rejection(
      create(svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: w.nodePort, protocol: 'UDP' }] })),
    );
    expect(taken.message).toBe(
      `Service "b" is invalid: spec.ports[0].nodePort: Invalid value: ${w.nodePort}: provided port is already allocated`,
    );
    const range = await rejection(create(svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] })));
    expect(range.message).toBe(
      'Service "c" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767',
    );
  });

  it('gives LoadBalancer services node ports and, with externalTrafficPolicy Local, a health-check port', async () => {
    const lb = await create(svc('lb', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
    expect(lb.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(lb.spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(lb.spec.healthCheckNodePort).not.toBe(lb.spec.ports[0].nodePort);
    const noPorts = await create(svc('lb2', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }));
    expect(noPorts.spec.ports[0].nodePort).toBeUndefined();
  });

  it('keeps allocated values on an update that leaves them out, and refuses to change the ClusterIP', async () => {
    const a = await create(svc('a', { type: 'NodePort' }));
    const put = svc('a', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080 }] });
    const b = await storage.update(svcDef, 'default', 'a', put);
    expect(b.spec.clusterIP).toBe(a.spec.clusterIP);
    expect(b.spec.ports[0].nodePort).toBe(a.spec.ports[0].nodePort);
    expect(b.spec.ports[0].targetPort).toBe(8080);
    const moved = await rejection(
      storage.update(svcDef, 'default', 'a', { ...put, spec: { ...put.spec, clusterIP: '10.43.0.77' } }),
    );
    expect(moved.code).toBe(422);
    expect(moved.message).toContain('may not change once set');
  });

  it('releases node ports on NodePort -> ClusterIP and allocates them on the way back', async () => {
    const a = await create(svc('a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30090 }] }));
    const { object: c } = await storage.patch(svcDef, 'default', 'a', 'merge', { spec: { type: 'ClusterIP' } });
    expect(c.spec.ports[0].nodePort).toBeUndefined();
    expect(c.spec.clusterIP).toBe(a.spec.clusterIP);
    const other = await create(svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30090 }] }));
    expect(other.spec.ports[0].nodePort).toBe(30090);
    const { object: n } = await storage.patch(svcDef, 'default', 'a', 'merge', { spec: { type: 'NodePort' } });
    expect(n.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(n.spec.ports[0].nodePort).not.toBe(30090);
  });

  it('frees everything when a Service is deleted', async () => {
    await create(svc('a', { clusterIP: '10.43.0.80', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }));
    await storage.delete(svcDef, 'default', 'a');
    const b = await create(
      svc('b', { clusterIP: '10.43.0.80', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
    );
    expect(b.spec.clusterIP).toBe('10.43.0.80');
  });

  it('never gives two concurrent creates the same address, and reports a full range as Kubernetes does', async () => {
    await store.close();
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store, undefined, {
      network: { serviceCidr: '10.43.0.0/28', nodePortRange: { min: 30000, max: 30003 } },
    });
    await seedNamespaces(storage);
    const made = await Promise.all(Array.from({ length: 14 }, (_, i) => create(svc(`s${i}`))));
    expect(new Set(made.map((s) => s.spec.clusterIP)).size).toBe(14);
    const full = await rejection(create(svc('one-more')));
    expect(full.code).toBe(500);
    expect(full.message).toBe('Internal error occurred: failed to allocate a serviceIP: range is full');
    await storage.delete(svcDef, 'default', 's0');
    const np = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        storage.patch(svcDef, 'default', `s${i + 1}`, 'merge', { spec: { type: 'NodePort' } }),
      ),
    );
    expect(new Set(np.map((r) => r.object.spec.ports[0].nodePort)).size).toBe(4);
    const noPort = await rejection(storage.patch(svcDef, 'default', 's5', 'merge', { spec: { type: 'NodePort' } }));
    expect(noPort.message).toBe('Internal error occurred: failed to allocate a nodePort: range is full');
  });
});
