// Serves a watch over HTTP as kube-apiserver does: 200, chunked, one JSON event per
// line, open until the client leaves or timeoutSeconds pass. Bad parameters (selectors,
// resourceVersion) are a 400 Status before the stream starts; a too-old resourceVersion
// is an ERROR event (410 Expired) inside the 200 stream, as the watch cache answers it.
//
// Each watch has a bounded buffer, as the Kubernetes cacher gives each watcher a bounded
// channel: events go to the socket while it accepts them (write() returns true); behind a
// full socket they wait in the watch's queue, and when that queue passes
// WATCH_BUFFER_EVENTS events or WATCH_BUFFER_BYTES bytes the watch is ended and its socket
// destroyed (the client re-lists and watches again, as after any closed watch). Bytes
// are counted as characters of the JSON lines. The
// initial events (the current objects for resourceVersion 0/unset, or the history since
// the given resourceVersion) are not counted: the store already holds them in memory,
// like a list.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../proto/meta.js';
import type { ResourceDef } from '../resources/types.js';
import { ApiError } from './errors.js';
import { apiVersionOf } from './keys.js';
import { parseResourceVersion, type ApiStorage, type WatchEvent, type WatchQuery } from './storage.js';
import { partialObjectMetadata, toTable, type IncludeObject } from './table.js';

/** events a watch may hold behind a client that does not read */
export const WATCH_BUFFER_EVENTS = 1000;
/** bytes a watch may hold behind a client that does not read */
export const WATCH_BUFFER_BYTES = 4 * 1024 * 1024;
/** setTimeout's longest delay (2^31-1 ms, ~24.8 days); longer delays are chained */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WatchStreamOptions {
  def: ResourceDef;
  namespace?: string;
  query: WatchQuery;
  table?: { include: IncludeObject };
  /** events carry PartialObjectMetadata (client-go's metadata informers) */
  metadataOnly?: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs?: number;
  /** end the watch when more than this many events wait behind the socket (default WATCH_BUFFER_EVENTS) */
  maxBufferedEvents?: number;
  /** end the watch when more than this many bytes wait behind the socket (default WATCH_BUFFER_BYTES) */
  maxBuffered?: number;
  onOpen?: () => void;
  onClose?: () => void;
  /** called when the watch is ended because its buffer filled (tests, metrics) */
  onOverflow?: () => void;
}

/** setTimeout for any delay: delays past 2^31-1 ms are chained instead of firing at once. */
function longTimeout(fn: () => void, ms: number, timers: Set<NodeJS.Timeout>): void {
  const step = Math.min(ms, MAX_TIMER_MS);
  const t = setTimeout(() => {
    timers.delete(t);
    if (ms > step) longTimeout(fn, ms - step, timers);
    else fn();
  }, step);
  timers.add(t);
}

/**
 * The JSON line of a plain watch event, encoded once for every watcher it reaches: the
 * shared object of one store event (the same for all watchers of its kind) keys it.
 */
const lines = new WeakMap<object, { def: ResourceDef; type: string; line: string }>();
function encodedLine(def: ResourceDef, type: string, src: object, object: unknown): string {
  const hit = lines.get(src);
  if (hit && hit.def === def && hit.type === type) return hit.line;
  const line = JSON.stringify({ type, object }) + '\n';
  lines.set(src, { def, type, line });
  return line;
}

export async function serveWatch(
  storage: ApiStorage,
  req: FastifyRequest,
  reply: FastifyReply,
  o: WatchStreamOptions,
): Promise<void> {
  // Parameter errors are a 400 Status, before the 200 of the stream.
  storage.parseFilter(o.def, o.query.labelSelector, o.query.fieldSelector);
  parseResourceVersion(o.query.resourceVersion);

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
  let closed = false;
  let sentColumns = false;
  let lastRv = o.query.resourceVersion && o.query.resourceVersion !== '0' ? o.query.resourceVersion : '';
  const timers = new Set<NodeJS.Timeout>();
  let cancel: (() => void) | undefined;
  const maxBytes = o.maxBuffered ?? WATCH_BUFFER_BYTES;
  const maxEvents = o.maxBufferedEvents ?? WATCH_BUFFER_EVENTS;
  // lines waiting for the socket to drain
  const queue: string[] = [];
  let queuedBytes = 0;
  let blocked = false;
  // queued initial events are not counted against the limits (they shrink as they drain)
  let freeEvents = Infinity;
  let freeBytes = Infinity;

  /** ends the watch; `sendQueued`: hand what waits to the socket first (an ERROR event must arrive) */
  const finish = (sendQueued = false) => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    cancel?.();
    if (sendQueued && !res.writableEnded) for (const line of queue) res.write(line);
    queue.length = 0;
    queuedBytes = 0;
    o.onClose?.();
    if (!res.writableEnded) res.end();
  };

  /** the client does not keep up: drop everything held for it */
  const overflow = () => {
    if (closed) return;
    o.onOverflow?.();
    finish();
    // end() would wait behind the unread bytes; free them now
    res.destroy();
    req.raw.socket?.destroy();
  };

  const flush = () => {
    while (!closed && !blocked && queue.length) {
      const line = queue.shift()!;
      queuedBytes -= line.length;
      if (!res.write(line)) blocked = true;
    }
    freeEvents = Math.min(freeEvents, queue.length);
    freeBytes = Math.min(freeBytes, queuedBytes);
  };

  res.on('drain', () => {
    blocked = false;
    flush();
  });

  const write = (ev: WatchEvent) => {
    if (closed) return;
    let object: unknown = ev.object;
    const plain = ev.type !== 'ERROR' && ev.type !== 'BOOKMARK' && !o.table && !o.metadataOnly;
    if (ev.type !== 'ERROR' && ev.type !== 'BOOKMARK') {
      const obj = ev.object as KubeObject;
      lastRv = obj.metadata.resourceVersion ?? lastRv;
      if (o.table) {
        object = toTable(o.def, [obj], {
          include: o.table.include,
          resourceVersion: obj.metadata.resourceVersion,
          withColumns: !sentColumns,
        });
        sentColumns = true;
      } else if (o.metadataOnly) {
        object = partialObjectMetadata(obj);
      } else {
        object = { apiVersion: apiVersionOf(o.def), kind: o.def.kind, ...obj };
      }
    }
    const line = plain
      ? encodedLine(o.def, ev.type, ev.object, object)
      : JSON.stringify({ type: ev.type, object }) + '\n';
    if (!blocked && !queue.length) {
      if (!res.write(line)) blocked = true;
    } else {
      queue.push(line);
      queuedBytes += line.length;
      if (queue.length - freeEvents > maxEvents || queuedBytes - freeBytes > maxBytes) {
        overflow();
        return;
      }
    }
    if (ev.type === 'ERROR') finish(true);
  };

  const finishNow = () => finish();
  req.raw.on('close', finishNow);
  res.on('close', finishNow);
  res.on('error', finishNow);
  o.onOpen?.();
  try {
    // events arrive as the one decoding every in-process reader shares (read-only: only encoded here)
    const w = await storage.watch(o.def, o.namespace, { ...o.query, shared: true }, write);
    cancel = () => w.cancel();
    if (closed) w.cancel();
  } catch (e) {
    if (e instanceof ApiError) {
      write({ type: 'ERROR', object: e.toStatus() });
      finish(true);
      return;
    }
    finish();
    throw e;
  }
  // the store replays history in a microtask after the watch is registered: that is initial too
  setImmediate(() => {
    freeEvents = Math.min(freeEvents, queue.length);
    freeBytes = Math.min(freeBytes, queuedBytes);
  });
  if (o.timeoutSeconds && o.timeoutSeconds > 0) longTimeout(finishNow, o.timeoutSeconds * 1000, timers);
  if (o.query.allowWatchBookmarks) {
    const every = o.bookmarkIntervalMs ?? 60_000;
    const tick = async () => {
      if (closed) return;
      const rv = String(await storage.store.currentRevision());
      if (closed) return;
      write({
        type: 'BOOKMARK',
        object: {
          kind: o.def.kind,
          apiVersion: apiVersionOf(o.def),
          metadata: { resourceVersion: rv || lastRv },
        } as KubeObject,
      });
      longTimeout(tick, every, timers);
    };
    longTimeout(tick, every, timers);
  }
}
