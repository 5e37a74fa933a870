// Snapshots (controlplane/snapshot, store/sqlite-snapshot.ts, store/etcd-snapshot.ts):
// SQLite save while writes run and restore into an empty data dir (key files included,
// revisions bumped, old watches 410), the refusals, scheduled snapshots' retention, and an
// etcd snapshot restored with etcdctl into a fresh member that serves every key.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { EtcdStore } from '../../controlplane/store/etcd.js';
import { CompactedError } from '../../controlplane/store/types.js';
import { REVISION_BUMP } from '../../controlplane/store/sqlite-snapshot.js';
import { restoreSnapshot, saveSnapshot } from '../../controlplane/snapshot/snapshots.js';
import {
  snapshotFileName,
  snapshotsToPrune,
  startScheduledSnapshots,
} from '../../controlplane/snapshot/scheduled-snapshots.js';
import { markDataDirInUse } from '../../controlplane/snapshot/data-dir-lock.js';
import { ETCDCTL_BIN, freePort, startEtcd } from './etcd-process.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-snap-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SQLite snapshots', () => {
  it('save while writes run; restore into an empty data dir has every write acknowledged before the snapshot, the key files, and bumped revisions', async () => {
    const src = tmp();
    mkdirSync(join(src, 'tls'), { mode: 0o700 });
    writeFileSync(join(src, 'tls', 'server-ca.key'), 'KEY', { mode: 0o600 });
    writeFileSync(join(src, 'encryption-config.json'), '{"keys":[]}', { mode: 0o600 });
    const store = new SqliteStore(join(src, 'state.db'));
    const acked: { key: string; value: string; rev: number }[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const key = `/registry/core/configmaps/default/cm${i}`;
        const kv = await store.create(key, JSON.stringify({ i, pad: 'x'.repeat(500) }));
        acked.push({ key, value: kv.value, rev: kv.modRevision });
      }
    })();
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 5));
    const file = join(tmp(), 'snap.db');
    const info = await saveSnapshot({ dataDir: src }, file);
    while (acked.length < info.revision + 200) await new Promise((r) => setTimeout(r, 5));
    writing = false;
    await writer;
    await store.close();
    expect(info.revision).toBeGreaterThanOrEqual(300);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const dst = join(tmp(), 'restored');
    const r = await restoreSnapshot(file, dst);
    expect(r.revision).toBe(info.revision);
    expect(r.restartsAt).toBe(info.revision + REVISION_BUMP);
    expect(readFileSync(join(dst, 'tls', 'server-ca.key'), 'utf8')).toBe('KEY');
    expect(statSync(join(dst, 'tls', 'server-ca.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dst, 'encryption-config.json'), 'utf8')).toBe('{"keys":[]}');

    const restored = new SqliteStore(join(dst, 'state.db'));
    try {
      const before = acked.filter((a) => a.rev <= info.revision);
      const after = acked.filter((a) => a.rev > info.revision);
      expect(before.length).toBe(info.revision);
      const all = await restored.list('/registry/core/configmaps/');
      expect(all.items.map((i) => [i.key, i.value, i.modRevision]).sort()).toEqual(
        before.map((a) => [a.key, a.value, a.rev]).sort(),
      );
      expect(after.some((a) => all.items.some((i) => i.key === a.key))).toBe(false);
      expect(await restored.currentRevision()).toBe(r.restartsAt);
      expect(await restored.compactedRevision()).toBe(r.restartsAt);
      // a watcher that saw any revision from before the restore (even newer ones) must list again
      await expect(restored.watch('/registry/', acked.at(-1)!.rev, () => {})).rejects.toBeInstanceOf(CompactedError);
      const next = await restored.create('/registry/core/configmaps/default/new', '{}');
      expect(next.modRevision).toBe(r.restartsAt + 1);
      expect(readdirSync(dst)).not.toContain('skiff_snapshot_files');
    } finally {
      await restored.close();
    }
  });

  it('restore keeps a replaced store aside and refuses while a server runs on the data dir', async () => {
    const src = tmp();
    const s = new SqliteStore(join(src, 'state.db'));
    await s.create('/registry/a', '1');
    await s.close();
    const file = join(tmp(), 'snap.db');
    await saveSnapshot({ dataDir: src }, file);

    const dst = tmp();
    const old = new SqliteStore(join(dst, 'state.db'));
    await old.create('/registry/old', '1');
    await old.close();
    // a live Node.js process named in the pid file: refused
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(join(dst, 'skiff-server.pid'), `${sleeper.pid}\n`);
      await expect(restoreSnapshot(file, dst)).rejects.toThrow(
        /a skiff-server \(pid \d+\) is running on .*stop it first/,
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((r) => sleeper.once('exit', r));
    // its pid file left behind by a crash does not block the restore
    await restoreSnapshot(file, dst);
    expect(existsSync(join(dst, 'state.db.before-restore'))).toBe(true);
    const s2 = new SqliteStore(join(dst, 'state.db'));
    expect(await s2.get('/registry/old')).toBeUndefined();
    expect((await s2.get('/registry/a'))!.value).toBe('1');
    await s2.close();
    // this process's own pid file (a server in this process) is ours, not another server's
    const lock = markDataDirInUse(dst);
    lock.release();
    expect(existsSync(join(dst, 'skiff-server.pid'))).toBe(false);
  });

  it('refuses a file that is not a skiff SQLite snapshot, pointing etcd snapshots at etcdutl', async () => {
    const f = join(tmp(), 'not.db');
    writeFileSync(f, 'hello');
    await expect(restoreSnapshot(f, tmp())).rejects.toThrow(
      /not a skiff SQLite snapshot[\s\S]*etcdutl snapshot restore/,
    );
    await expect(restoreSnapshot(join(tmp(), 'missing.db'), tmp())).rejects.toThrow(/no such file/);
  });
});

describe('scheduled snapshots', () => {
  it.each([
    [[], 5, []],
    [
      [
        'skiff-snapshot-20261205T000000Z.db',
        'skiff-snapshot-20261205T060000Z.db',
        'skiff-snapshot-20261205T120000Z.db',
      ],
      2,
      ['skiff-snapshot-20261205T000000Z.db'],
    ],
    [
      ['skiff-snapshot-20261205T060000Z.db', 'mine.db', 'skiff-snapshot-20261204T060000Z.db'],
      1,
      ['skiff-snapshot-20261204T060000Z.db'],
    ],
    [['skiff-snapshot-20261205T060000Z.db.part'], 0, []],
  ])('prune %j keeping %i -> %j', (names, keep, want) => {
    expect(snapshotsToPrune(names, keep)).toEqual(want);
  });

  it('take a snapshot into <data-dir>/snapshots and keep the newest N', async () => {
    const dir = tmp();
    const s = new SqliteStore(join(dir, 'state.db'));
    await s.create('/registry/a', '1');
    const sched = startScheduledSnapshots({
      dataDir: dir,
      schedule: '0 */6 * * *',
      retention: 2,
      save: (f) => saveSnapshot({ dataDir: dir }, f),
    });
    try {
      for (const h of ['00', '06', '12']) await sched.runOnce(new Date(`2026-12-05T${h}:00:00Z`));
    } finally {
      sched.stop();
      await s.close();
    }
    expect(readdirSync(join(dir, 'snapshots')).sort()).toEqual([
      snapshotFileName(new Date('2026-12-05T06:00:00Z')),
      snapshotFileName(new Date('2026-12-05T12:00:00Z')),
    ]);
    expect(snapshotFileName(new Date('2026-12-05T06:00:00.123Z'))).toBe('skiff-snapshot-20261205T060000Z.db');
  });
});

describe('etcd snapshots', () => {
  it('save while writes run; etcdctl restores it into a fresh member holding every write acknowledged before the snapshot', async () => {
    let etcd = await startEtcd();
    const work = tmp();
    try {
      const store = await new EtcdStore({ endpoints: [etcd.endpoint] }).open();
      const acked: { key: string; rev: number }[] = [];
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const key = `/registry/core/configmaps/default/cm${i}`;
          acked.push({ key, rev: (await store.create(key, `{"i":${i}}`)).modRevision });
        }
      })();
      while (acked.length < 100) await new Promise((r) => setTimeout(r, 5));
      const file = join(work, 'etcd.db');
      const info = await saveSnapshot({ dataDir: work, datastore: { endpoints: [etcd.endpoint] } }, file);
      const atSave = acked.length;
      while (acked.length < atSave + 50) await new Promise((r) => setTimeout(r, 5));
      writing = false;
      await writer;
      await store.close();
      await etcd.stop();
      chmodSync(file, 0o600);

      const peerPort = await freePort();
      const restored = join(work, 'member');
      execFileSync(
        ETCDCTL_BIN,
        [
          'snapshot',
          'restore',
          file,
          '--name',
          'skiff-test',
          '--data-dir',
          restored,
          '--initial-cluster',
          `skiff-test=http://127.0.0.1:${peerPort}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${peerPort}`,
        ],
        { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'pipe' },
      );
      etcd = await startEtcd({ dataDir: restored, peerPort });
      const s2 = await new EtcdStore({ endpoints: [etcd.endpoint] }).open();
      try {
        const keys = new Set((await s2.list('/registry/core/configmaps/')).items.map((i) => i.key));
        const before = acked.filter((a) => a.rev <= info.revision);
        expect(before.length).toBeGreaterThanOrEqual(100);
        for (const a of before) expect(keys.has(a.key)).toBe(true);
        // a watch from a revision the restored etcd never reached: 410, the client lists again
        await expect(s2.watch('/registry/', acked.at(-1)!.rev + 1000, () => {})).rejects.toBeInstanceOf(CompactedError);
      } finally {
        await s2.close();
      }
    } finally {
      await etcd.stop();
    }
  });
});
