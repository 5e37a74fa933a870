// The embedded default store: kine's log-structured layout on better-sqlite3 (WAL).
// `log` is the append-only history (row id = revision); `current` holds each live
// key's latest row for fast get/list. Watchers are served from the log, then live
// from an in-process broadcaster; better-sqlite3 is synchronous, so a watch's replay
// and its registration happen with no write in between.
//
// The WAL stays bounded under load: a worker thread checkpoints PASSIVE every second
// (checkpointer.ts), but under a steady stream of writes a PASSIVE checkpoint never
// catches up with the writer, so the WAL is never restarted and grows without end (278 MB
// beside a 34 MB database after 60 s). Between two write transactions, once the -wal
// file is past walLimitBytes, the writer itself runs a TRUNCATE checkpoint (no reader
// holds the WAL: every read here is one synchronous statement or transaction), and
// journal_size_limit truncates the file when SQLite restarts the WAL on its own.
// state.db, -wal and -shm are 0600 (SQLite gives -wal and -shm the database file's mode).
// Map of the code base: ARCHITECTURE.md, "The store".
import Database from 'better-sqlite3';
import type { Database as DB, Statement } from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
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
  type WatchTrigger,
} from './types.js';
import { Broadcaster } from './broadcaster.js';
import { startCheckpointer } from './checkpointer.js';
import { createRequire } from 'node:module';

interface LogRow {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
  prev_value: string | null;
}
interface CurRow {
  name: string;
  revision: number;
  create_revision: number;
  value: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_name_id ON log(name, id);
CREATE TABLE IF NOT EXISTS current (
  name TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
`;

/** escape for LIKE with ESCAPE '\\' */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/** above every key that starts with `prefix` (keys never hold U+10FFFF) */
function prefixEnd(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

/** the -wal file may grow to this before the writer truncates it (journal_size_limit too) */
export const DEFAULT_WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/** how often (at most) the writer looks at the -wal file's size */
const WAL_CHECK_MS = 100;

export interface SqliteStoreOptions {
  /** a TRUNCATE checkpoint runs once the -wal file is past this many bytes (default 64 MiB) */
  walLimitBytes?: number;
  /** the background PASSIVE checkpoint's period (default 1 s) */
  checkpointIntervalMs?: number;
}

/** create (or tighten) a file as 0600 before SQLite writes anything into it */
function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

export class SqliteStore implements Store {
  /** watchers are called in the commit's own turn (flush → emit) */
  readonly syncWatch = true;
  private db: DB;
  private readonly walLimit: number;
  private walCheckedAt = 0;
  /** value bytes written since the -wal file's size was last looked at */
  private walBytesSinceCheck = 0;
  /** TRUNCATE checkpoints run because the WAL passed its limit, and the longest one (ms) */
  readonly walStats = { truncations: 0, busy: 0, maxCheckpointMs: 0 };
  private bus = new Broadcaster<StoreEvent>();
  private st!: Record<string, Statement>;
  private compactRev = 0;
  private checkpointer?: { stop(): Promise<void> };

  constructor(
    public readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    this.walLimit = opts.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // the database is made 0600 before SQLite opens it; -wal and -shm inherit its mode
      // when SQLite creates them, and older ones left 0644 are tightened here
      ensurePrivateFile(path);
      for (const f of [`${path}-wal`, `${path}-shm`]) if (statSync(f, { throwIfNoEntry: false })) chmodSync(f, 0o600);
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`journal_size_limit = ${Math.floor(this.walLimit)}`);
    // NORMAL survives a process crash (kill -9); only power loss may lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    if (path !== ':memory:') {
      // checkpoints (with their fsync) run on a worker thread, not in request handling
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = startCheckpointer(
        path,
        createRequire(import.meta.url).resolve('better-sqlite3'),
        opts.checkpointIntervalMs,
        this.walLimit,
      );
    }
    this.prepare();
    const row = this.st.getMeta.get('compact_rev') as { v: number } | undefined;
    this.compactRev = row?.v ?? 0;
  }

  private prepare(): void {
    const db = this.db;
    this.st = {
      getCur: db.prepare('SELECT name, revision, create_revision, value FROM current WHERE name = ?'),
      // the range bounds let SQLite seek the primary key (LIKE alone scans every row)
      listCur: db.prepare(
        `SELECT name, revision, create_revision, value FROM current WHERE name LIKE ? ESCAPE '\\' AND name >= ? AND name < ? AND name > ? ORDER BY name LIMIT ?`,
      ),
      listAt: db.prepare(`SELECT l.name, l.id AS revision, l.create_revision, l.value, l.deleted FROM log l
        WHERE l.id IN (SELECT MAX(id) FROM log WHERE name LIKE ? ESCAPE '\\' AND name > ? AND id <= ? GROUP BY name)
        AND l.deleted = 0 ORDER BY l.name LIMIT ?`),
      insLog: db.prepare(
        'INSERT INTO log (name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      setCreateRev: db.prepare('UPDATE log SET create_revision = id WHERE id = ?'),
      upsertCur: db.prepare(
        'INSERT INTO current (name, revision, create_revision, value) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, create_revision = excluded.create_revision, value = excluded.value',
      ),
      delCur: db.prepare('DELETE FROM current WHERE name = ?'),
      maxRev: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`),
      after: db.prepare(`SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value,
        (SELECT p.value FROM log p WHERE p.id = l.prev_revision) AS prev_value
        FROM log l WHERE l.id > ? AND l.name LIKE ? ESCAPE '\\' ORDER BY l.id`),
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      // history rows superseded at or before the compact revision, and tombstones at or before it
      compactSuperseded: db.prepare(`DELETE FROM log WHERE id <= ? AND (deleted = 1 OR id IN (
        SELECT l.id FROM log l WHERE l.id <= ? AND EXISTS (SELECT 1 FROM log n WHERE n.name = l.name AND n.id > l.id AND n.id <= ?)))`),
    };
  }

  private rev(): number {
    const r = this.st.maxRev.get() as { seq: number } | undefined;
    return r?.seq ?? 0;
  }

  async get(key: string): Promise<KV | undefined> {
    const r = this.st.getCur.get(key) as CurRow | undefined;
    return r ? { key: r.name, value: r.value, modRevision: r.revision, createRevision: r.create_revision } : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const fetch = limit > 0 ? limit + 1 : -1;
    const start = opts.startAfter ?? '';
    let rows: CurRow[];
    let revision: number;
    const read = this.db.transaction(() => {
      revision = this.rev();
      if (opts.revision !== undefined && opts.revision < revision) {
        if (opts.revision < this.compactRev) throw new CompactedError(opts.revision, this.compactRev, revision);
        rows = this.st.listAt.all(likePrefix(prefix), start, opts.revision, fetch) as CurRow[];
        revision = opts.revision;
      } else {
        rows = this.st.listCur.all(likePrefix(prefix), prefix, prefixEnd(prefix), start, fetch) as CurRow[];
      }
    });
    read();
    const more = limit > 0 && rows!.length > limit;
    if (more) rows!.length = limit;
    return {
      items: rows!.map((r) => ({
        key: r.name,
        value: r.value,
        modRevision: r.revision,
        createRevision: r.create_revision,
      })),
      revision: revision!,
      more,
    };
  }

  private emit(ev: StoreEvent): void {
    this.bus.publish(ev.key, ev);
  }

  // Group commit: writes issued in the same turn of the event loop share one
  // transaction (one WAL commit). Each op checks its preconditions before writing, so a
  // failing op changes nothing and the others in the batch still commit. Events go
  // out after the commit, in revision order.
  private pending: { op: () => { kv: KV; ev: StoreEvent }; resolve: (kv: KV) => void; reject: (e: unknown) => void }[] =
    [];

  private write(op: () => { kv: KV; ev: StoreEvent }): Promise<KV> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const results: ({ ok: true; kv: KV; ev: StoreEvent } | { ok: false; err: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const b of batch) {
          try {
            const r = b.op();
            this.walBytesSinceCheck += r.ev.value.length;
            results.push({ ok: true, ...r });
          } catch (err) {
            results.push({ ok: false, err });
          }
        }
      })();
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    batch.forEach((b, i) => {
      const r = results[i]!;
      if (r.ok) {
        this.emit(r.ev);
        b.resolve(r.kv);
      } else b.reject(r.err);
    });
    this.boundWal();
  }

  /** between transactions: a TRUNCATE checkpoint when the -wal file is past its limit */
  private boundWal(): void {
    if (this.path === ':memory:') return;
    const now = performance.now();
    if (now - this.walCheckedAt < WAL_CHECK_MS && this.walBytesSinceCheck < this.walLimit / 128) return;
    this.walCheckedAt = now;
    this.walBytesSinceCheck = 0;
    const size = statSync(`${this.path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.walLimit) return;
    try {
      const t0 = performance.now();
      const rows = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      this.walStats.maxCheckpointMs = Math.max(this.walStats.maxCheckpointMs, performance.now() - t0);
      if (!rows[0]?.busy) {
        this.walStats.truncations++;
        return;
      }
    } catch {
      // SQLITE_BUSY
    }
    // the checkpointer thread holds the checkpoint lock right now: try again after the next transaction
    this.walStats.busy++;
    this.walCheckedAt = 0;
  }

  create(key: string, value: string): Promise<KV> {
    return this.write(() => {
      if (this.st.getCur.get(key)) throw new KeyExistsError(key);
      const id = Number(this.st.insLog.run(key, 1, 0, 0, 0, value).lastInsertRowid);
      this.st.setCreateRev.run(id);
      this.st.upsertCur.run(key, id, id, value);
      return {
        kv: { key, value, modRevision: id, createRevision: id },
        ev: { type: 'PUT', key, value, modRevision: id, createRevision: id },
      };
    });
  }

  update(key: string, value: string, expectedRevision: number): Promise<KV> {
    return this.write(() => {
      const cur = this.st.getCur.get(key) as CurRow | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (cur.revision !== expectedRevision) throw new StaleRevisionError(key, cur.revision);
      const id = Number(this.st.insLog.run(key, 0, 0, cur.create_revision, cur.revision, value).lastInsertRowid);
      this.st.upsertCur.run(key, id, cur.create_revision, value);
      return {
        kv: { key, value, modRevision: id, createRevision: cur.create_revision },
        ev: { type: 'PUT', key, value, prevValue: cur.value, modRevision: id, createRevision: cur.create_revision },
      };
    });
  }

  delete(key: string, expectedRevision?: number): Promise<KV> {
    return this.write(() => {
      const cur = this.st.getCur.get(key) as CurRow | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (expectedRevision !== undefined && cur.revision !== expectedRevision)
        throw new StaleRevisionError(key, cur.revision);
      const id = Number(this.st.insLog.run(key, 0, 1, cur.create_revision, cur.revision, cur.value).lastInsertRowid);
      this.st.delCur.run(key);
      return {
        kv: { key, value: cur.value, modRevision: id, createRevision: cur.create_revision },
        ev: {
          type: 'DELETE',
          key,
          value: cur.value,
          prevValue: cur.value,
          modRevision: id,
          createRevision: cur.create_revision,
        },
      };
    });
  }

  async watch(
    prefix: string,
    fromRevision: number,
    cb: WatchCallback,
    _onError?: (err: Error) => void,
    trigger?: WatchTrigger,
  ): Promise<Watch> {
    // Synchronous from here to subscribe(): no write can slip between replay and live.
    if (fromRevision < this.compactRev) throw new CompactedError(fromRevision, this.compactRev, this.rev());
    const backlog = (this.st.after.all(fromRevision, likePrefix(prefix)) as LogRow[]).map(rowToEvent);
    // Live events wait behind the backlog so the watcher sees revisions in order.
    let pending: StoreEvent[] | null = backlog;
    // the replay is not narrowed by the trigger: the watcher filters it as it filters everything
    const sub = this.bus.subscribe(
      prefix,
      (ev) => {
        if (pending) pending.push(ev);
        else cb([ev]);
      },
      trigger,
    );
    queueMicrotask(() => {
      const first = pending!;
      pending = null;
      if (!sub.closed && first.length) cb(first);
    });
    return { cancel: () => sub.close() };
  }

  async currentRevision(): Promise<number> {
    return this.rev();
  }

  async compactedRevision(): Promise<number> {
    return this.compactRev;
  }

  async compact(revision: number): Promise<number> {
    const target = Math.min(revision, this.rev());
    if (target <= this.compactRev) return 0;
    const tx = this.db.transaction(() => {
      const n = this.st.compactSuperseded.run(target, target, target).changes;
      this.st.setMeta.run('compact_rev', target);
      return n;
    });
    const removed = tx();
    this.compactRev = target;
    return removed;
  }

  async size(): Promise<number> {
    try {
      return statSync(this.path).size + (statSync(this.path + '-wal', { throwIfNoEntry: false })?.size ?? 0);
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.pending.length) this.flush();
    await this.checkpointer?.stop();
    this.bus.closeAll();
    this.db.close();
  }
}

function rowToEvent(r: LogRow): StoreEvent {
  const ev: StoreEvent = {
    type: r.deleted ? 'DELETE' : 'PUT',
    key: r.name,
    value: r.value,
    modRevision: r.id,
    createRevision: r.create_revision,
  };
  if (r.deleted) ev.prevValue = r.value;
  else if (!r.created && r.prev_value !== null) ev.prevValue = r.prev_value;
  return ev;
}
