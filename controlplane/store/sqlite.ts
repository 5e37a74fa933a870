// The embedded default store: kine's log-structured layout on better-sqlite3 (WAL).
// `log` is the append-only history (row id = revision); `current` holds each live
// key's latest row for fast get/list. Watchers are served from the log, then live
// from an in-process broadcaster; better-sqlite3 is synchronous, so a watch's replay
// and its registration happen with no write in between.
import Database from 'better-sqlite3';
import type { Database as DB, Statement } from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CompactedError, KeyExistsError, KeyNotFoundError, StaleRevisionError,
  type KV, type ListOptions, type ListResult, type Store, type StoreEvent, type Watch, type WatchCallback,
} from './types.js';
import { Broadcaster } from './broadcaster.js';

interface LogRow { id: number; name: string; created: number; deleted: number; create_revision: number; prev_revision: number; value: string; prev_value: string | null }
interface CurRow { name: string; revision: number; create_revision: number; value: string }

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

export class SqliteStore implements Store {
  private db: DB;
  private bus = new Broadcaster<StoreEvent>();
  private st!: Record<string, Statement>;
  private compactRev = 0;

  constructor(public readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL survives a process crash (kill -9); only power loss may lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.prepare();
    const row = this.st.getMeta.get('compact_rev') as { v: number } | undefined;
    this.compactRev = row?.v ?? 0;
  }

  private prepare(): void {
    const db = this.db;
    this.st = {
      getCur: db.prepare('SELECT name, revision, create_revision, value FROM current WHERE name = ?'),
      listCur: db.prepare(`SELECT name, revision, create_revision, value FROM current WHERE name LIKE ? ESCAPE '\\' AND name > ? ORDER BY name LIMIT ?`),
      listAt: db.prepare(`SELECT l.name, l.id AS revision, l.create_revision, l.value, l.deleted FROM log l
        WHERE l.id IN (SELECT MAX(id) FROM log WHERE name LIKE ? ESCAPE '\\' AND name > ? AND id <= ? GROUP BY name)
        AND l.deleted = 0 ORDER BY l.name LIMIT ?`),
      insLog: db.prepare('INSERT INTO log (name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?)'),
      setCreateRev: db.prepare('UPDATE log SET create_revision = id WHERE id = ?'),
      upsertCur: db.prepare('INSERT INTO current (name, revision, create_revision, value) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, create_revision = excluded.create_revision, value = excluded.value'),
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
        rows = this.st.listCur.all(likePrefix(prefix), start, fetch) as CurRow[];
      }
    });
    read();
    const more = limit > 0 && rows!.length > limit;
    if (more) rows!.length = limit;
    return {
      items: rows!.map((r) => ({ key: r.name, value: r.value, modRevision: r.revision, createRevision: r.create_revision })),
      revision: revision!,
      more,
    };
  }

  private emit(ev: StoreEvent): void {
    this.bus.publish(ev.key, ev);
  }

  async create(key: string, value: string): Promise<KV> {
    const tx = this.db.transaction((): KV => {
      if (this.st.getCur.get(key)) throw new KeyExistsError(key);
      const id = Number(this.st.insLog.run(key, 1, 0, 0, 0, value).lastInsertRowid);
      this.st.setCreateRev.run(id);
      this.st.upsertCur.run(key, id, id, value);
      return { key, value, modRevision: id, createRevision: id };
    });
    const kv = tx();
    this.emit({ type: 'PUT', key, value, modRevision: kv.modRevision, createRevision: kv.createRevision });
    return kv;
  }

  async update(key: string, value: string, expectedRevision: number): Promise<KV> {
    let prevValue = '';
    const tx = this.db.transaction((): KV => {
      const cur = this.st.getCur.get(key) as CurRow | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (cur.revision !== expectedRevision) throw new StaleRevisionError(key, cur.revision);
      prevValue = cur.value;
      const id = Number(this.st.insLog.run(key, 0, 0, cur.create_revision, cur.revision, value).lastInsertRowid);
      this.st.upsertCur.run(key, id, cur.create_revision, value);
      return { key, value, modRevision: id, createRevision: cur.create_revision };
    });
    const kv = tx();
    this.emit({ type: 'PUT', key, value, prevValue, modRevision: kv.modRevision, createRevision: kv.createRevision });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<KV> {
    const tx = this.db.transaction((): KV => {
      const cur = this.st.getCur.get(key) as CurRow | undefined;
      if (!cur) throw new KeyNotFoundError(key);
      if (expectedRevision !== undefined && cur.revision !== expectedRevision) throw new StaleRevisionError(key, cur.revision);
      const id = Number(this.st.insLog.run(key, 0, 1, cur.create_revision, cur.revision, cur.value).lastInsertRowid);
      this.st.delCur.run(key);
      return { key, value: cur.value, modRevision: id, createRevision: cur.create_revision };
    });
    const kv = tx();
    this.emit({ type: 'DELETE', key, value: kv.value, prevValue: kv.value, modRevision: kv.modRevision, createRevision: kv.createRevision });
    return kv;
  }

  async watch(prefix: string, fromRevision: number, cb: WatchCallback): Promise<Watch> {
    // Synchronous from here to subscribe(): no write can slip between replay and live.
    if (fromRevision < this.compactRev) throw new CompactedError(fromRevision, this.compactRev, this.rev());
    const backlog = (this.st.after.all(fromRevision, likePrefix(prefix)) as LogRow[]).map(rowToEvent);
    // Live events wait behind the backlog so the watcher sees revisions in order.
    let pending: StoreEvent[] | null = backlog;
    const sub = this.bus.subscribe(prefix, (ev) => { if (pending) pending.push(ev); else cb([ev]); });
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
