// File modes in the data dir (issue 10 item 13): state.db, its -wal and -shm are 0600 (they
// were 0644), older 0644 ones are tightened at open, and every file skiff-server writes
// there that holds a secret (keys, tokens, kubeconfig, encryption-config.json) is 0600 in
// 0700 directories, whatever the umask. Only the certificates are public.
import Database from 'better-sqlite3';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import { openEncryptedStore } from '../../controlplane/store/encrypting-store.js';
import { desiredSans, ensurePki, writeKubeconfig } from '../../controlplane/security/pki.js';

let root: string;
let oldUmask: number;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'skiff-modes-'));
  // the usual umask: what is 0600 below is so because skiff made it so
  oldUmask = process.umask(0o022);
});
afterEach(() => {
  process.umask(oldUmask);
  rmSync(root, { recursive: true, force: true });
});

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

it('state.db, -wal and -shm are created 0600 in a 0700 directory', async () => {
  const dataDir = join(root, 'server');
  const path = join(dataDir, 'state.db');
  const store = new SqliteStore(path);
  await store.create('/r/a', '{"v":1}');
  expect(mode(dataDir)).toBe('700');
  expect([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)]).toEqual(['600', '600', '600']);
  await store.close();
});

it('a database and WAL left 0644 by an older version are made 0600 at open', async () => {
  const path = join(root, 'state.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  // keep the old connection open so its -wal and -shm stay on disk
  for (const f of [path, `${path}-wal`, `${path}-shm`]) chmodSync(f, 0o644);
  const store = new SqliteStore(path);
  expect([mode(path), mode(`${path}-wal`), mode(`${path}-shm`)]).toEqual(['600', '600', '600']);
  await store.close();
  old.close();
});

it('every secret skiff-server writes in its data dir is 0600, every directory 0700', async () => {
  const dataDir = join(root, 'server');
  // what runServer does to its data dir, in order
  const store = await openEncryptedStore(new SqliteStore(join(dataDir, 'state.db')), dataDir, { enabled: true });
  await store.create('/registry/secrets/default/s', JSON.stringify({ kind: 'Secret', data: { a: 'YQ==' } }));
  const pki = await ensurePki(dataDir, desiredSans(['127.0.0.1']));
  writeKubeconfig(dataDir, 'https://127.0.0.1:6443', pki);
  const files: Record<string, string> = {};
  const dirs: Record<string, string> = { '.': mode(dataDir) };
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        dirs[relative(dataDir, p)] = mode(p);
        walk(p);
      } else files[relative(dataDir, p)] = mode(p);
    }
  };
  walk(dataDir);
  await store.close();
  // the certificates are public (agents and kubeconfigs carry the CA); nothing else is
  const publicFiles = new Set(['tls/server-ca.crt', 'tls/serving.crt', 'tls/client-ca.crt']);
  for (const name of [
    'state.db',
    'state.db-wal',
    'state.db-shm',
    'encryption-config.json',
    'admin-token',
    'token',
    'admin.kubeconfig',
    'tls/server-ca.key',
    'tls/serving.key',
    'tls/client-ca.key',
  ]) {
    expect(files, name).toHaveProperty([name]);
  }
  for (const [name, m] of Object.entries(files)) if (!publicFiles.has(name)) expect(`${name} ${m}`).toBe(`${name} 600`);
  for (const [name, m] of Object.entries(dirs)) expect(`${name}/ ${m}`).toBe(`${name}/ 700`);
  console.log('data dir modes:', JSON.stringify({ dirs, files }));
});
