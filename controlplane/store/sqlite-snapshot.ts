// Snapshots of the SQLite store. Save: SQLite's online backup API (better-sqlite3's
// db.backup) on a read-only connection of its own, all pages in one step, i.e. inside one
// read transaction: a consistent copy while the server keeps writing (WAL readers never
// block the writer). The copy is a self-contained database file (journal_mode DELETE)
// that also carries the data dir's key material (CA, service-account key, encryption
// keyring, tokens) in a table of its own, so a restore into an empty data dir serves
// the same cluster — Secrets included. Treat a snapshot like the data dir: it is secret.
// Restore: check the file, move any old state.db aside, put the copy in place and move
// the revision counter past anything a client can have seen (REVISION_BUMP), compacting
// up to it: every watch or continue token from before the restore gets 410 Gone and
// lists again, as k3s and `etcdutl snapshot restore --bump-revision --mark-compacted` do.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SqliteStore } from './sqlite.js';

/** how far a restore moves the revision counter (etcd's recommended --bump-revision) */
export const REVISION_BUMP = 1_000_000_000;
const FILES_TABLE = 'skiff_snapshot_files';

export interface SnapshotFile {
  /** path relative to the data dir, with / */
  name: string;
  mode: number;
  content: Buffer;
}

export interface SnapshotInfo {
  /** the store revision the snapshot holds (every write acknowledged at or before it is in it) */
  revision: number;
  bytes: number;
  files: number;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export function isSqliteFile(path: string): boolean {
  try {
    const fd = readFileSync(path, { flag: 'r' }).subarray(0, 16);
    return fd.equals(SQLITE_MAGIC);
  } catch {
    return false;
  }
}

function revisionOf(db: Database.Database): number {
  const r = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).get() as { seq: number } | undefined;
  return r?.seq ?? 0;
}

/** a consistent copy of the store at dbPath in `file` (written as file.part, then renamed; mode 0600) */
export async function saveSqliteSnapshot(dbPath: string, file: string, files: SnapshotFile[]): Promise<SnapshotInfo> {
  if (!existsSync(dbPath)) throw new Error(`no SQLite store at ${dbPath} (is --data-dir right?)`);
  const part = `${file}.part`;
  rmSync(part, { force: true });
  const src = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    // the first step (0 pages) opens the backup; the second copies every page at once
    await src.backup(part, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  chmodSync(part, 0o600);
  const db = new Database(part);
  let revision: number;
  try {
    db.pragma('journal_mode = DELETE');
    revision = revisionOf(db);
    db.exec(`CREATE TABLE ${FILES_TABLE} (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB NOT NULL)`);
    const ins = db.prepare(`INSERT INTO ${FILES_TABLE} (name, mode, content) VALUES (?, ?, ?)`);
    db.transaction(() => {
      for (const f of files) ins.run(f.name, f.mode, f.content);
    })();
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`snapshot copy failed its check: ${String(check)}`);
  } finally {
    db.close();
  }
  renameSync(part, file);
  return { revision, bytes: statSync(file).size, files: files.length };
}

/** what a snapshot holds, without changing it */
export function readSqliteSnapshot(file: string): { revision: number; files: SnapshotFile[] } {
  if (!isSqliteFile(file)) throw new Error(`${file} is not a skiff SQLite snapshot`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasFiles = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(FILES_TABLE);
    const hasLog = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log'`).get();
    if (!hasLog) throw new Error(`${file} is an SQLite database but not a skiff store snapshot (no log table)`);
    const files = hasFiles
      ? (db.prepare(`SELECT name, mode, content FROM ${FILES_TABLE} ORDER BY name`).all() as SnapshotFile[])
      : [];
    return { revision: revisionOf(db), files };
  } finally {
    db.close();
  }
}

/**
 * Put the snapshot in place as the store at dbPath (the server must be stopped). The old
 * database, if any, is kept as <dbPath>.before-restore. Returns the snapshot's revision
 * and the revision the restored store continues from.
 */
export async function restoreSqliteSnapshot(
  file: string,
  dbPath: string,
  bump = REVISION_BUMP,
): Promise<{ revision: number; restartsAt: number; files: SnapshotFile[] }> {
  const { revision, files } = readSqliteSnapshot(file);
  const tmp = join(dirname(dbPath), '.state.db.restoring');
  rmSync(tmp, { force: true });
  const src = new Database(file, { readonly: true, fileMustExist: true });
  try {
    await src.backup(tmp, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  chmodSync(tmp, 0o600);
  const db = new Database(tmp);
  let restartsAt: number;
  try {
    db.exec(`DROP TABLE IF EXISTS ${FILES_TABLE}`);
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`${file} is damaged: ${String(check)}`);
    restartsAt = revision + bump;
    // sqlite_sequence has no row for `log` until the first insert
    if (db.prepare(`SELECT 1 FROM sqlite_sequence WHERE name = 'log'`).get())
      db.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'log'`).run(restartsAt);
    else db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('log', ?)`).run(restartsAt);
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  // compact up to the new revision: history older than the restore is gone, so every
  // watch or continue token from before it gets 410 and lists again
  const store = new SqliteStore(tmp);
  try {
    await store.compact(restartsAt);
  } finally {
    await store.close();
  }
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, `${dbPath}.before-restore${suffix}`);
  }
  for (const suffix of ['-wal', '-shm']) if (existsSync(tmp + suffix)) renameSync(tmp + suffix, dbPath + suffix);
  renameSync(tmp, dbPath);
  return { revision, restartsAt, files };
}
