// Serves a watch over HTTP as kube-apiserver does: 200, chunked, one JSON event per
// line, open until the client leaves or timeoutSeconds pass. A too-old
// resourceVersion is an ERROR event (410 Expired) inside the 200 stream.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError } from './errors.js';
import { apiVersionOf } from './keys.js';
import type { ApiStorage, WatchEvent, WatchQuery } from './storage.js';
import { toTable, type IncludeObject } from './table.js';

export interface WatchStreamOptions {
  def: ResourceDef;
  namespace?: string;
  query: WatchQuery;
  table?: { include: IncludeObject };
  timeoutSeconds?: number;
  bookmarkIntervalMs?: number;
  /** drop the watch when this many bytes wait unsent (slow client) */
  maxBuffered?: number;
  onOpen?: () => void;
  onClose?: () => void;
}

export async function serveWatch(storage: ApiStorage, req: FastifyRequest, reply: FastifyReply, o: WatchStreamOptions): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
  let closed = false;
  let sentColumns = false;
  let lastRv = o.query.resourceVersion && o.query.resourceVersion !== '0' ? o.query.resourceVersion : '';
  const timers: NodeJS.Timeout[] = [];
  let cancel: (() => void) | undefined;
  const maxBuffered = o.maxBuffered ?? 32 * 1024 * 1024;

  const finish = () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    cancel?.();
    o.onClose?.();
    if (!res.writableEnded) res.end();
  };

  const write = (ev: WatchEvent) => {
    if (closed) return;
    let object: unknown = ev.object;
    if (ev.type !== 'ERROR' && ev.type !== 'BOOKMARK') {
      const obj = ev.object as KubeObject;
      lastRv = obj.metadata.resourceVersion ?? lastRv;
      if (o.table) {
        object = toTable(o.def, [obj], { include: o.table.include, resourceVersion: obj.metadata.resourceVersion, withColumns: !sentColumns });
        sentColumns = true;
      } else {
        object = { apiVersion: apiVersionOf(o.def), kind: o.def.kind, ...obj };
      }
    }
    res.write(JSON.stringify({ type: ev.type, object }) + '\n');
    if (ev.type === 'ERROR' || res.writableLength > maxBuffered) finish();
  };

  req.raw.on('close', finish);
  res.on('close', finish);
  res.on('error', finish);
  o.onOpen?.();
  try {
    const w = await storage.watch(o.def, o.namespace, o.query, write);
    cancel = () => w.cancel();
    if (closed) w.cancel();
  } catch (e) {
    if (e instanceof ApiError) {
      write({ type: 'ERROR', object: e.toStatus() });
      finish();
      return;
    }
    finish();
    throw e;
  }
  if (o.timeoutSeconds && o.timeoutSeconds > 0) timers.push(setTimeout(finish, o.timeoutSeconds * 1000));
  if (o.query.allowWatchBookmarks) {
    const every = o.bookmarkIntervalMs ?? 60_000;
    const tick = async () => {
      if (closed) return;
      const rv = String(await storage.store.currentRevision());
      if (closed) return;
      write({ type: 'BOOKMARK', object: { kind: o.def.kind, apiVersion: apiVersionOf(o.def), metadata: { resourceVersion: rv || lastRv } } as KubeObject });
      timers.push(setTimeout(tick, every));
    };
    timers.push(setTimeout(tick, every));
  }
}
