// Node pod subnets with several servers on one store: each server's allocator caches the
// used subnets, so the reservation key in the store is what keeps two servers from giving
// one subnet to two nodes; a deleted (or re-created) node's reservation is taken over.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { findResource } from '../../controlplane/resources/index.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { POD_CIDR_RESERVATIONS, PodCidrAllocator } from '../../controlplane/agents/pod-cidr-allocator.js';

const nodeDef = findResource('', 'v1', 'nodes')!;
const log = pino({ level: 'silent' });

describe('PodCidrAllocator on a shared store', () => {
  let store: SqliteStore;
  let storage: ApiStorage;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    storage = new ApiStorage(store);
    await seedNamespaces(storage);
  });
  afterEach(() => store.close());
  const node = (name: string) =>
    storage.create(nodeDef, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  const server = () => new PodCidrAllocator(storage, '10.42.0.0/16', 24, log);

  it('two servers, each with its cache read before the other allocated, never give out one subnet twice', async () => {
    const [a, b] = [server(), server()];
    for (const n of ['n0', 'n1', 'n2', 'n3', 'n4']) await node(n);
    expect(await b.ensure('n0')).toBe('10.42.0.0/24'); // b's cache: {0}
    expect(await a.ensure('n1')).toBe('10.42.1.0/24'); // a read the Nodes after: {0}, takes 1
    expect(await b.ensure('n2')).toBe('10.42.2.0/24'); // b's cache lacks 1: the reservation refuses it
    const [x, y] = await Promise.all([a.ensure('n3'), b.ensure('n4')]);
    expect(new Set([x, y, '10.42.0.0/24', '10.42.1.0/24', '10.42.2.0/24']).size).toBe(5);
    expect((await store.list(POD_CIDR_RESERVATIONS)).items.length).toBe(5);
    // a node asking again keeps its subnet
    expect(await b.ensure('n1')).toBe('10.42.1.0/24');
  });

  it("a deleted node's subnet is given out again (its reservation is stale)", async () => {
    await node('old');
    expect(await server().ensure('old')).toBe('10.42.0.0/24');
    await storage.delete(nodeDef, undefined, 'old');
    await node('new');
    expect(await server().ensure('new')).toBe('10.42.0.0/24');
    // re-created under the old name (another uid): the same
    await node('old');
    expect(await server().ensure('old')).toBe('10.42.1.0/24');
  });
});
