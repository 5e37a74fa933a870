// The server's network state for agents, from the real API write path: nodes with their
// subnets and addresses, services with the ready endpoints of their EndpointSlices, one
// message per burst of changes, and a Node a user broke is left out instead of stopping
// every agent's updates.
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { NetworkPublisher, broadcastGapMs } from '../../controlplane/agents/network-publisher.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { NetworkState } from '../../proto/agent-protocol.js';
import { until } from './controller-harness.js';

const def = (g: string, r: string) => findResource(g, 'v1', r)!;
const settings = {
  clusterCidr: '10.42.0.0/16',
  serviceCidr: '10.43.0.0/16',
  clusterDns: '10.43.0.10',
  clusterDomain: 'cluster.local',
};

describe('NetworkPublisher', () => {
  it('publishes nodes, services and ready endpoints, coalescing bursts, and leaves out a broken Node', async () => {
    const store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const node = (name: string, cidr: string, ip: string) =>
      storage.create(def('', 'nodes'), undefined, {
        metadata: { name },
        spec: { podCIDR: cidr },
        status: { addresses: [{ type: 'InternalIP', address: ip }] },
      } as never);
    await node('a', '10.42.0.0/24', '192.168.1.11');
    const pub = new NetworkPublisher(storage, settings, pino({ level: 'silent' }), 20);
    const sent: NetworkState[] = [];
    pub.subscribe((m) => sent.push(m));
    try {
      await pub.start();
      expect(pub.current?.nodes).toEqual([{ name: 'a', podCIDR: '10.42.0.0/24', internalIP: '192.168.1.11' }]);
      const svc = await storage.create(def('', 'services'), 'default', {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      } as never);
      await storage.create(def('discovery.k8s.io', 'endpointslices'), 'default', {
        metadata: { name: 'web-abcde', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['10.42.0.5'], conditions: { ready: true }, nodeName: 'a' },
          { addresses: ['10.42.0.6'], conditions: { ready: false }, nodeName: 'a' },
        ],
      } as never);
      await node('b', '10.42.1.0/24', '192.168.1.12');
      await node('broken', '999.0.0.0/24', '192.168.1.13');
      const st = await until('the burst published', async () => {
        const last = sent[sent.length - 1];
        return last &&
          last.nodes.length === 3 &&
          last.services.some((x) => x.name === 'web' && x.endpoints.length === 2)
          ? last
          : undefined;
      });
      expect(sent.length).toBeLessThan(4); // four writes, coalesced
      expect(st.nodes.map((n) => [n.name, n.podCIDR ?? null])).toEqual([
        ['a', '10.42.0.0/24'],
        ['b', '10.42.1.0/24'],
        ['broken', null],
      ]);
      const web = st.services.find((x) => x.name === 'web')!;
      expect(web).toMatchObject({
        namespace: 'default',
        type: 'ClusterIP',
        clusterIP: (svc as { spec: { clusterIP: string } }).spec.clusterIP,
        ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
      });
      expect(web.endpoints).toEqual([
        { ip: '10.42.0.5', node: 'a', ready: true, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
        { ip: '10.42.0.6', node: 'a', ready: false, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      ]);
      expect(st).toMatchObject({
        clusterCIDR: '10.42.0.0/16',
        clusterDNS: '10.43.0.10',
        clusterDomain: 'cluster.local',
      });
    } finally {
      pub.stop();
      await store.close();
    }
  });

  it('ignores a Node status rewrite, sends an address change, and hands every agent the same encoding', async () => {
    const store = new SqliteStore(':memory:');
    const storage = new ApiStorage(store);
    await seedNamespaces(storage);
    const nodes = def('', 'nodes');
    await storage.create(nodes, undefined, {
      metadata: { name: 'a' },
      spec: { podCIDR: '10.42.0.0/24' },
      status: { addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
    } as never);
    const pub = new NetworkPublisher(storage, settings, pino({ level: 'silent' }), 20);
    const sent: [NetworkState, Buffer][] = [];
    pub.subscribe((m, encoded) => sent.push([m, encoded]));
    try {
      await pub.start();
      expect(sent).toHaveLength(1); // the state at start
      const schedules = vi.spyOn(pub as unknown as { schedule(): void }, 'schedule');
      const status = (cond: string, ip: string) =>
        storage.guaranteedUpdate(
          nodes,
          undefined,
          'a',
          {},
          (cur) => {
            cur.status = {
              addresses: [{ type: 'InternalIP', address: ip }],
              conditions: [{ type: 'Ready', status: cond }],
            };
            return cur;
          },
          'status',
        );
      await status('True', '192.168.1.11');
      await status('False', '192.168.1.11');
      // a write the informer shows after the two above: when it is seen, they were too
      await storage.create(nodes, undefined, { metadata: { name: 'z' } } as never);
      await until('the new Node built into the state', async () => pub.current?.nodes.some((n) => n.name === 'z'));
      expect(schedules).toHaveBeenCalledTimes(1); // the condition-only writes asked for no rebuild
      await status('True', '192.168.1.99');
      const [m, encoded] = await until('the address change published', async () =>
        sent.find(([x]) => x.nodes[0]?.internalIP === '192.168.1.99'),
      );
      expect(sent).toHaveLength(3);
      expect(JSON.parse(encoded.toString())).toEqual(m);
      expect(pub.currentEncoded).toBe(encoded);
    } finally {
      pub.stop();
      await store.close();
    }
  });
});

describe('broadcast spacing', () => {
  it('waits nine times the send, and for the bytes all agents are sent at 20 MB/s, at most 5 s', () => {
    for (const [took, recipients, bytes, gap] of [
      [2, 1, 2_000, 18], // one agent, a small cluster: the server's time decides
      [10, 10, 3_000, 90],
      [5, 100, 8_000, 45], // 0.8 MB to all: 40 ms
      [30, 1000, 80_000, 4000], // 1000 agents × 80 KB: 4 s
      [30, 2000, 160_000, 5000], // capped
      [800, 1, 100, 5000],
    ] as const)
      expect(broadcastGapMs(took, recipients, bytes), `${took} ${recipients} ${bytes}`).toBe(gap);
  });
});
