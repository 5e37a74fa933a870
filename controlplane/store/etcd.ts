// The distributed store: the Store contract on etcd v3 (the etcd3 client), for several
// skiff-servers sharing one datastore. Keys are skiff's own (/registry/<group>/<resource>/…,
// as kube-apiserver lays them out), so `etcdctl get --prefix /registry/` shows the
// objects; values are the objects' JSON. etcd's revisions are the resourceVersions:
//   create  txn: createRevision(key) == 0 -> put
//   update  txn: modRevision(key) == expected -> put (prevKV), else read the current one
//   delete  txn: (modRevision == expected ->) delete (prevKV)
//   list    one range, at the first page's revision for every later page
//   watch   one gRPC watch stream per watch, from fromRevision+1 with prevKV, each etcd
//           response delivered as one batch; a broken stream resumes after the last
//           delivered revision (clientv3 does the same), so in-process informers never
//           notice an etcd restart or a member failing over
// Compaction is etcd's own (physical: false); its revision is kept in `compact_rev_key`,
// the key kube-apiserver's compactor uses, so every server (and a restart) knows it.
// Every call has a deadline; a datastore that is down or without quorum is a 503/504
// (etcd-errors.ts), never a request that hangs.
import { readFileSync } from 'node:fs';
import {
  Etcd3,
  type IKeyValue,
  type IWatchResponse,
  type IDuplexStream,
  type IWatchRequest,
  type IOptions,
} from 'etcd3';
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  StaleRevisionError,
  type KV,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type Watch,
  type WatchCallback,
} from './types.js';
import {
  DatastoreTimeoutError,
  ETCD_MAX_REQUEST_BYTES,
  ValueTooLargeError,
  interpretEtcdError,
  isCompactedMessage,
  isFutureRevisionMessage,
} from './etcd-errors.js';
import { gone } from '../api/errors.js';

/** kube-apiserver's compactor key (staging/src/k8s.io/apiserver/pkg/storage/etcd3/compact.go) */
export const COMPACT_REV_KEY = 'compact_rev_key';

export interface EtcdStoreOptions {
  /** http(s)://host:port of the members */
  endpoints: string[];
  /** PEM files for TLS to etcd (--datastore-cafile/-certfile/-keyfile) */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** deadline for one call (default 5 s); the whole operation, retries included, at most twice that */
  requestTimeoutMs?: number;
  /** values bigger than this are refused before they reach etcd (default etcd's 1.5 MiB) */
  maxRequestBytes?: number;
}

const buf = (s: string) => Buffer.from(s, 'utf8');
const num = (s: string | number | undefined) => Number(s ?? 0);

/** the end of a prefix range: the prefix with its last byte incremented (etcd's GetPrefixRangeEnd) */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]!++;
      return end;
    }
  }
  return Buffer.from([0]); // the whole keyspace
}

function toKV(kv: IKeyValue): KV {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    modRevision: num(kv.mod_revision),
    createRevision: num(kv.create_revision),
  };
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly endpointsText: string;
  private compactRev = 0;
  private readonly watches = new Set<{ close(): void }>();
  private closed = false;

  constructor(opts: EtcdStoreOptions) {
    if (!opts.endpoints.length) throw new Error('etcd: no endpoints');
    this.timeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.maxBytes = opts.maxRequestBytes ?? ETCD_MAX_REQUEST_BYTES;
    this.endpointsText = opts.endpoints.join(',');
    const options: IOptions = {
      hosts: opts.endpoints,
      dialTimeout: this.timeoutMs,
      // a list of every pod, or a watch replay, may be far more than grpc's 4 MiB default
      grpcOptions: {
        'grpc.max_receive_message_length': -1,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
    };
    if (opts.caFile || opts.certFile || opts.keyFile) {
      if (!opts.caFile) throw new Error('etcd: --datastore-certfile/--datastore-keyfile need --datastore-cafile');
      if ((opts.certFile === undefined) !== (opts.keyFile === undefined))
        throw new Error('etcd: give both --datastore-certfile and --datastore-keyfile, or neither');
      options.credentials = {
        rootCertificate: readFileSync(opts.caFile),
        ...(opts.certFile ? { certChain: readFileSync(opts.certFile), privateKey: readFileSync(opts.keyFile!) } : {}),
      };
    }
    this.client = new Etcd3(options);
  }

  /** read the compaction revision kept in etcd; call once before use */
  async open(): Promise<this> {
    const r = await this.call(() => this.client.kv.range({ key: buf(COMPACT_REV_KEY) }));
    const v = r.kvs[0]?.value.toString('utf8');
    if (v && /^\d+$/.test(v)) this.compactRev = Number(v);
    return this;
  }

  /** run one etcd call with an overall deadline; etcd3's errors become API errors */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw interpretEtcdError(new Error('the etcd client is closed (unavailable)'), this.endpointsText);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new DatastoreTimeoutError(`${this.endpointsText}: no answer within ${(2 * this.timeoutMs) / 1000}s`)),
        2 * this.timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), limit]);
    } catch (e) {
      throw interpretEtcdError(e, this.endpointsText);
    } finally {
      clearTimeout(timer);
    }
  }

  private checkSize(key: string, value: string): void {
    const bytes = Buffer.byteLength(key) + Buffer.byteLength(value);
    // a little room for the txn's compare and the request's framing
    if (bytes > this.maxBytes - 512) throw new ValueTooLargeError(key, bytes, this.maxBytes);
  }

  async get(key: string): Promise<KV | undefined> {
    const r = await this.call(() => this.client.kv.range({ key: buf(key) }));
    return r.kvs[0] ? toKV(r.kvs[0]) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    // continue after startAfter: the smallest key greater than it is startAfter + "\0"
    const from = opts.startAfter ? Buffer.concat([buf(opts.startAfter), Buffer.from([0])]) : buf(prefix);
    try {
      const r = await this.call(() =>
        this.client.kv.range({ key: from, range_end: prefixEnd(prefix), limit, revision: opts.revision ?? 0 }),
      );
      return { items: r.kvs.map(toKV), revision: opts.revision ?? num(r.header.revision), more: r.more };
    } catch (e) {
      throw await this.revisionError(e, opts.revision ?? 0);
    }
  }

  /** etcd's compacted / future-revision answers as CompactedError (the API's 410) */
  private async revisionError(e: unknown, requested: number): Promise<unknown> {
    const m = e instanceof Error ? e.message : '';
    if (isCompactedMessage(m)) {
      const current = await this.currentRevision().catch(() => 0);
      return new CompactedError(requested, Math.max(this.compactRev, requested + 1), current);
    }
    // a revision this datastore never reached: it was restored from an older snapshot.
    // The client's view is newer than ours; 410 makes it list again.
    if (isFutureRevisionMessage(m))
      return new CompactedError(
        requested,
        await this.currentRevision().catch(() => 0),
        await this.currentRevision().catch(() => 0),
      );
    return e;
  }

  async create(key: string, value: string): Promise<KV> {
    this.checkSize(key, value);
    const r = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: buf(key), target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: buf(key), value: buf(value) } }],
        failure: [],
      }),
    );
    if (!r.succeeded) throw new KeyExistsError(key);
    const rev = num(r.header.revision);
    return { key, value, modRevision: rev, createRevision: rev };
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KV> {
    this.checkSize(key, value);
    const r = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: buf(key), target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
        success: [{ request_put: { key: buf(key), value: buf(value), prev_kv: true } }],
        failure: [{ request_range: { key: buf(key) } }],
      }),
    );
    if (!r.succeeded) {
      const cur = r.responses[0]?.response_range?.kvs[0];
      if (!cur) throw new KeyNotFoundError(key);
      throw new StaleRevisionError(key, num(cur.mod_revision));
    }
    const prev = r.responses[0]?.response_put?.prev_kv;
    return { key, value, modRevision: num(r.header.revision), createRevision: num(prev?.create_revision) };
  }

  async delete(key: string, expectedRevision?: number): Promise<KV> {
    const r = await this.call(() =>
      this.client.kv.txn({
        compare:
          expectedRevision !== undefined
            ? [{ key: buf(key), target: 'Mod', result: 'Equal', mod_revision: expectedRevision }]
            : [{ key: buf(key), target: 'Create', result: 'Greater', create_revision: 0 }],
        success: [{ request_delete_range: { key: buf(key), prev_kv: true } }],
        failure: [{ request_range: { key: buf(key) } }],
      }),
    );
    if (!r.succeeded) {
      const cur = r.responses[0]?.response_range?.kvs[0];
      if (!cur) throw new KeyNotFoundError(key);
      throw new StaleRevisionError(key, num(cur.mod_revision));
    }
    const prev = r.responses[0]?.response_delete_range?.prev_kvs[0];
    if (!prev) throw new KeyNotFoundError(key);
    return {
      key,
      value: prev.value.toString('utf8'),
      modRevision: num(r.header.revision),
      createRevision: num(prev.create_revision),
    };
  }

  async watch(prefix: string, fromRevision: number, cb: WatchCallback, onError?: (err: Error) => void): Promise<Watch> {
    // etcd says "compacted" only after the watch was created; a read at fromRevision says it
    // now, so a watch from too old a revision is refused here as the SQLite store does.
    try {
      await this.call(() =>
        this.client.kv.range({
          key: buf(prefix),
          range_end: prefixEnd(prefix),
          revision: Math.max(1, fromRevision),
          limit: 1,
          count_only: true,
        }),
      );
    } catch (e) {
      throw await this.revisionError(e, fromRevision);
    }
    const w = new EtcdWatch(
      this.client,
      prefix,
      fromRevision,
      cb,
      (err) => {
        this.watches.delete(w);
        onError?.(err);
      },
      (rev) => {
        this.compactRev = Math.max(this.compactRev, rev);
      },
    );
    this.watches.add(w);
    try {
      await this.call(() => w.start());
    } catch (e) {
      w.close();
      this.watches.delete(w);
      throw await this.revisionError(e, fromRevision);
    }
    return {
      cancel: () => {
        w.close();
        this.watches.delete(w);
      },
    };
  }

  async currentRevision(): Promise<number> {
    const r = await this.call(() => this.client.kv.range({ key: buf(COMPACT_REV_KEY), count_only: true }));
    return num(r.header.revision);
  }

  async compactedRevision(): Promise<number> {
    return this.compactRev;
  }

  async compact(revision: number): Promise<number> {
    const target = Math.min(revision, await this.currentRevision());
    if (target <= this.compactRev) return 0;
    try {
      // the revision first (so every server learns it), then etcd's own compaction
      await this.call(() => this.client.kv.put({ key: buf(COMPACT_REV_KEY), value: buf(String(target)) }));
      await this.call(() => this.client.kv.compact({ revision: target, physical: false }));
    } catch (e) {
      // another server compacted at or past it already
      if (!(e instanceof Error && isCompactedMessage(e.message))) throw e;
    }
    this.compactRev = Math.max(this.compactRev, target);
    return 0;
  }

  async size(): Promise<number> {
    const s = await this.call(() => this.client.maintenance.status());
    return num(s.dbSize);
  }

  /** the etcd client, for the snapshot command (etcd-snapshot.ts) */
  get etcd(): Etcd3 {
    return this.client;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.close();
    this.watches.clear();
    this.client.close();
  }
}

/**
 * One watch on its own gRPC stream. Delivers each etcd response's events as one batch,
 * in order; reconnects after a broken stream from the revision after the last delivered
 * event (back-off 100 ms doubling to 2 s), until cancelled. Compaction of that revision
 * ends the watch with a 410 (the client lists again).
 */
class EtcdWatch {
  private stream?: IDuplexStream<IWatchRequest, IWatchResponse>;
  private closed = false;
  private lastRev: number;
  private backoffMs = 100;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    fromRevision: number,
    private readonly cb: WatchCallback,
    private readonly fail: (err: Error) => void,
    private readonly sawCompaction: (rev: number) => void,
  ) {
    this.lastRev = fromRevision;
  }

  /** open the stream; resolves once etcd has created the watch */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let created = false;
      this.client.watchClient.watch().then((stream) => {
        if (this.closed) {
          stream.cancel();
          resolve();
          return;
        }
        this.stream = stream;
        stream.on('data', (res: IWatchResponse) => {
          if (res.created && !created) {
            created = true;
            this.backoffMs = 100;
            resolve();
          }
          if (res.canceled) {
            this.stop();
            const compacted = num(res.compact_revision);
            if (compacted > 0) {
              this.sawCompaction(compacted);
              const err = gone(`too old resource version: ${this.lastRev} (${compacted})`);
              if (!created) reject(new Error(`etcdserver: mvcc: required revision has been compacted (${compacted})`));
              else this.fail(err);
            } else {
              const err = new Error(`etcd watch cancelled: ${res.cancel_reason || 'no reason given'}`);
              if (!created) reject(err);
              else this.fail(err);
            }
            return;
          }
          if (res.events.length) this.deliver(res);
        });
        const broken = (err?: Error) => {
          if (this.closed || this.stream !== stream) return;
          this.stream = undefined;
          if (!created) {
            reject(err ?? new Error('etcd watch stream ended'));
            return;
          }
          this.reconnect();
        };
        stream.on('error', broken);
        stream.on('end', () => broken());
        stream.write({
          create_request: {
            key: buf(this.prefix),
            range_end: prefixEnd(this.prefix),
            start_revision: this.lastRev + 1,
            prev_kv: true,
          },
        });
      }, reject);
    });
  }

  private deliver(res: IWatchResponse): void {
    const batch: StoreEvent[] = [];
    for (const ev of res.events) {
      const rev = num(ev.kv.mod_revision);
      if (rev <= this.lastRev) continue; // already delivered before a reconnect
      const key = ev.kv.key.toString('utf8');
      const prev = ev.prev_kv ? ev.prev_kv.value.toString('utf8') : undefined;
      if (String(ev.type).toUpperCase() === 'DELETE') {
        // a deletion is described by the value it removed
        if (prev === undefined) continue;
        batch.push({
          type: 'DELETE',
          key,
          value: prev,
          prevValue: prev,
          modRevision: rev,
          createRevision: num(ev.prev_kv!.create_revision),
        });
      } else {
        const e: StoreEvent = {
          type: 'PUT',
          key,
          value: ev.kv.value.toString('utf8'),
          modRevision: rev,
          createRevision: num(ev.kv.create_revision),
        };
        if (prev !== undefined) e.prevValue = prev;
        batch.push(e);
      }
      this.lastRev = rev;
    }
    if (!batch.length || this.closed) return;
    try {
      this.cb(batch);
    } catch {
      // a watcher that throws is its own problem, never the stream's
    }
  }

  private reconnect(): void {
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2_000);
    this.timer = setTimeout(() => {
      this.start().catch((e: unknown) => {
        if (this.closed) return;
        const m = e instanceof Error ? e.message : String(e);
        if (isCompactedMessage(m)) {
          this.stop();
          this.fail(gone(`too old resource version: ${this.lastRev} (${m})`));
          return;
        }
        this.reconnect();
      });
    }, delay);
    this.timer.unref();
  }

  private stop(): void {
    this.closed = true;
    clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    try {
      s?.cancel();
    } catch {
      /* already gone */
    }
  }

  close(): void {
    this.stop();
  }
}
