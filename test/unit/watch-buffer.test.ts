// A watch whose client stops reading is ended once its bounded buffer fills, as the
// Kubernetes cacher closes a watcher whose channel is full; other watchers go on
// (issue 10, item 10). Real sockets against an in-process server.
import { connect, type Socket, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { TokenAuthenticator } from '../../controlplane/api/auth.js';
import { buildApiServer } from '../../controlplane/api/server.js';
import { WATCH_BUFFER_BYTES } from '../../controlplane/api/watch-stream.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { ServerMetrics } from '../../controlplane/metrics.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

let app: FastifyInstance;
let store: SqliteStore;
let metrics: ServerMetrics;
let port = 0;

beforeAll(async () => {
  store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const auth = new TokenAuthenticator();
  auth.add('tok', { name: 'admin', groups: ['system:masters'] });
  metrics = new ServerMetrics();
  app = await buildApiServer({ storage, auth, logger: false, metrics });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const H = { authorization: 'Bearer tok', 'content-type': 'application/json' };

async function openWatches(): Promise<number> {
  return (await metrics.watches.get()).values[0]?.value ?? 0;
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** a raw HTTP/1.1 watch; `reading` false: the client never reads after the request */
function rawWatch(path: string, reading: boolean): { socket: Socket; received: () => string; ended: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nAccept: application/json\r\n\r\n`);
  if (reading)
    socket.on('data', (d: string) => {
      text += d;
    });
  else socket.pause();
  const ended = new Promise<void>((resolve) => {
    socket.on('end', () => resolve());
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  return { socket, received: () => text, ended };
}

describe('watch buffer', () => {
  it('a watch that never reads is ended when its buffer fills; a reading watch is not', async () => {
    const rv = (await app.inject({ method: 'GET', url: '/api/v1/namespaces/default/configmaps', headers: H })).json()
      .metadata.resourceVersion as string;
    const path = `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`;
    const base = await openWatches();
    const stuck = rawWatch(path, false);
    const reader = rawWatch(path, true);
    await until(async () => (await openWatches()) === base + 2, 'two open watches');

    // ~200 KB per event: the kernel's socket buffers (a few MB on loopback) plus the
    // watch's own limit are passed after a few dozen writes
    const data = { v: 'x'.repeat(200 * 1024) };
    const create = await app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/configmaps',
      headers: H,
      payload: { metadata: { name: 'big' }, data },
    });
    expect(create.statusCode).toBe(201);
    let writes = 0;
    const maxWrites = Math.ceil((3 * WATCH_BUFFER_BYTES + 16 * 1024 * 1024) / (200 * 1024));
    while ((await openWatches()) === base + 2 && writes < maxWrites) {
      data.v = String(writes % 10) + data.v.slice(1);
      const r = await app.inject({
        method: 'PUT',
        url: '/api/v1/namespaces/default/configmaps/big',
        headers: H,
        payload: { metadata: { name: 'big' }, data },
      });
      expect(r.statusCode).toBe(200);
      writes++;
      // let the reader's socket drain
      await new Promise((r) => setImmediate(r));
    }
    // the stuck watch was closed, the reading one is still open
    await until(async () => (await openWatches()) === base + 1, 'the stuck watch to close');

    // the reader sees a later event
    await app.inject({
      method: 'POST',
      url: '/api/v1/namespaces/default/configmaps',
      headers: H,
      payload: { metadata: { name: 'after' } },
    });
    await until(() => reader.received().includes('"name":"after"'), 'the reading watch to get a later event');

    // the stuck client, once it reads, finds its stream ended (it re-lists and watches again)
    stuck.socket.resume();
    stuck.socket.on('data', () => undefined);
    await stuck.ended;
    reader.socket.destroy();
    await until(async () => (await openWatches()) === base, 'all watches closed');
  }, 30_000);
});
