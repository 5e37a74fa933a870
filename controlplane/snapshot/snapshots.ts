// Taking and restoring snapshots of a server's state, for `skiff-server snapshot …` and
// the scheduled snapshots. SQLite: store/sqlite-snapshot.ts, carrying the data dir's key
// material along; etcd: etcd's own snapshot (store/etcd-snapshot.ts), restored with
// etcdutl into a fresh member data dir (the key material stays in each server's data dir).
// Map of the code base: ARCHITECTURE.md, "The parts".
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ServerConfig } from '../config.js';
import { EtcdStore } from '../store/etcd.js';
import { saveEtcdSnapshot } from '../store/etcd-snapshot.js';
import { SQLITE_FILE } from '../store/open.js';
import {
  isSqliteFile,
  restoreSqliteSnapshot,
  saveSqliteSnapshot,
  type SnapshotFile,
  type SnapshotInfo,
} from '../store/sqlite-snapshot.js';
import { PID_FILE, serverRunningOn } from './data-dir-lock.js';

export const SNAPSHOT_DIR = 'snapshots';
/** files of the data dir a snapshot never carries: the store itself, snapshots, logs, leftovers */
const SKIP = /^(state\.db.*|\.state\.db\.restoring.*|skiff-server\.pid|.*\.part|.*\.log(\.\d+)?|.*\.before-restore.*)$/;
const MAX_FILE_BYTES = 1024 * 1024;

/** the data dir's own files (certificates, keys, keyring, tokens), relative paths with / */
export function collectDataDirFiles(dataDir: string): SnapshotFile[] {
  const out: SnapshotFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const rel = relative(dataDir, p).split(sep).join('/');
      const st = lstatSync(p);
      if (st.isDirectory()) {
        if (rel !== SNAPSHOT_DIR) walk(p);
      } else if (st.isFile() && !SKIP.test(name) && st.size <= MAX_FILE_BYTES) {
        out.push({ name: rel, mode: st.mode & 0o777, content: readFileSync(p) });
      }
    }
  };
  if (existsSync(dataDir)) walk(dataDir);
  return out;
}

/** a consistent online snapshot of the server's state into `file` */
export async function saveSnapshot(
  cfg: Pick<ServerConfig, 'dataDir' | 'datastore'>,
  file: string,
): Promise<SnapshotInfo & { kind: 'sqlite' | 'etcd' }> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (cfg.datastore) {
    const store = await new EtcdStore(cfg.datastore).open();
    try {
      return { kind: 'etcd', ...(await saveEtcdSnapshot(store, file)) };
    } finally {
      await store.close();
    }
  }
  return {
    kind: 'sqlite',
    ...(await saveSqliteSnapshot(join(cfg.dataDir, SQLITE_FILE), file, collectDataDirFiles(cfg.dataDir))),
  };
}

export const ETCD_RESTORE_HELP = `An etcd datastore is restored with etcd's own tool into a fresh single-member cluster, then
the other members join it anew (etcd's disaster-recovery guide). Stop every skiff-server and etcd member, then:
  etcdutl snapshot restore FILE --name m1 --data-dir /var/lib/etcd-restored \\
    --initial-cluster m1=https://h1:2380 --initial-advertise-peer-urls https://h1:2380 \\
    --bump-revision 1000000000 --mark-compacted          # etcd 3.5.10+ / 3.6
  (etcd 3.4: ETCDCTL_API=3 etcdctl snapshot restore FILE … with the same flags but no --bump-revision/--mark-compacted)
start etcd on that data dir, then the skiff-servers. --bump-revision moves the revision past anything a client saw,
so their watches get 410 Gone and list again; without it (etcd 3.4) skiff answers a watch from a revision the
restored etcd has not reached with 410 Gone, but restart long-running watchers (kubectl get -w, controllers of
your own) after a restore.`;

/** put a snapshot in place in a stopped server's data dir */
export async function restoreSnapshot(
  file: string,
  dataDir: string,
): Promise<{ revision: number; restartsAt: number; files: number }> {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const pid = serverRunningOn(dataDir);
  if (pid !== undefined)
    throw new Error(`a skiff-server (pid ${pid}) is running on ${dataDir} (${join(dataDir, PID_FILE)}): stop it first`);
  if (!isSqliteFile(file))
    throw new Error(`${file} is not a skiff SQLite snapshot. If it is an etcd snapshot:\n${ETCD_RESTORE_HELP}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const r = await restoreSqliteSnapshot(file, join(dataDir, SQLITE_FILE));
  for (const f of r.files) {
    if (f.name.startsWith('/') || f.name.split('/').includes('..'))
      throw new Error(`snapshot holds a file outside the data dir: ${f.name}`);
    const p = join(dataDir, ...f.name.split('/'));
    mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    writeFileSync(`${p}.part`, f.content, { mode: f.mode & 0o777 });
    chmodSync(`${p}.part`, f.mode & 0o777);
    renameSync(`${p}.part`, p);
  }
  return { revision: r.revision, restartsAt: r.restartsAt, files: r.files.length };
}
