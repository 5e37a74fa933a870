// The cluster's shared bootstrap data (security/bootstrap-*.ts): sealing with the token,
// the plan for a data dir, and servers taking it from / putting it into a real etcd:
// join, wrong token, a data dir of another cluster, racing first servers.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOTSTRAP_PREFIX,
  BootstrapDecryptError,
  bootstrapKey,
  openBootstrap,
  sealBootstrap,
} from '../../controlplane/security/bootstrap-crypto.js';
import { BOOTSTRAP_FILES, planBootstrap, readBootstrapFiles } from '../../controlplane/security/bootstrap-data.js';
import {
  BootstrapError,
  applyTokenToDataDir,
  resolveToken,
  syncBootstrapData,
} from '../../controlplane/security/bootstrap-sync.js';
import { ensurePki } from '../../controlplane/security/pki.js';
import { EtcdStore } from '../../controlplane/store/etcd.js';
import { startEtcd, type EtcdProcess } from './etcd-process.js';

describe('sealing the bootstrap data with the token', () => {
  it('opens with the passphrase it was sealed with, never with another; every seal differs', () => {
    const a = sealBootstrap('s3cret', '{"files":{}}');
    const b = sealBootstrap('s3cret', '{"files":{}}');
    expect(a).not.toBe(b); // random salt and nonce
    expect(a).toMatch(/^[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
    expect(openBootstrap('s3cret', a)).toBe('{"files":{}}');
    expect(() => openBootstrap('other', a)).toThrow(BootstrapDecryptError);
    const tampered = a.slice(0, -4) + (a.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(() => openBootstrap('s3cret', tampered)).toThrow(BootstrapDecryptError);
    expect(() => openBootstrap('s3cret', 'no-colon')).toThrow(BootstrapDecryptError);
    expect(() => openBootstrap('s3cret', '00:AA==')).toThrow(BootstrapDecryptError);
  });

  it('stores under /bootstrap/<12 hex of sha256(passphrase)>, as k3s', () => {
    // sha256("token") = 3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0
    expect(bootstrapKey('token')).toBe('/bootstrap/3c469e9d6c58');
    expect(bootstrapKey('token').startsWith(BOOTSTRAP_PREFIX)).toBe(true);
  });
});

describe('planBootstrap', () => {
  const stored = { 'tls/server-ca.crt': 'CA\n', 'admin-token': 'tok\n', 'sa.key': 'SA\n' } as const;
  it.each([
    ['empty data dir: write everything', {}, { write: ['tls/server-ca.crt', 'sa.key', 'admin-token'], conflicts: [] }],
    [
      'same files (line ends aside): nothing',
      { 'tls/server-ca.crt': 'CA', 'admin-token': 'tok\n', 'sa.key': 'SA\n' },
      { write: [], conflicts: [] },
    ],
    [
      'one missing: write it',
      { 'tls/server-ca.crt': 'CA\n', 'sa.key': 'SA\n' },
      { write: ['admin-token'], conflicts: [] },
    ],
    [
      'another CA: conflict',
      { 'tls/server-ca.crt': 'OTHER\n' },
      { write: ['sa.key', 'admin-token'], conflicts: ['tls/server-ca.crt'] },
    ],
  ])('%s', (_name, local, want) => {
    expect(planBootstrap(local, stored)).toEqual(want);
  });
});

describe('servers sharing bootstrap data through etcd', () => {
  let etcd: EtcdProcess;
  const dirs: string[] = [];
  const stores: EtcdStore[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-boot-'));
    dirs.push(d);
    return d;
  };
  const open = async () => {
    const s = await new EtcdStore({ endpoints: [etcd.endpoint] }).open();
    stores.push(s);
    return s;
  };
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    const s = await open();
    await s.etcd.delete().all();
    for (const x of stores.splice(0)) await x.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('the first server seals its files; a second with the token and an empty data dir gets the same files (keys 0600) and its own serving certificate', async () => {
    const a = dir();
    const r1 = await syncBootstrapData(await open(), { dataDir: a });
    expect(r1.created).toBe(true);
    expect(r1.written.sort()).toEqual([...BOOTSTRAP_FILES].sort());
    const pkiA = await ensurePki(a, ['localhost', '10.0.0.1']);
    const keys = (await (await open()).list(BOOTSTRAP_PREFIX)).items;
    expect(keys.map((k) => k.key)).toEqual([bootstrapKey(pkiA.joinSecret)]);
    // nothing of it readable without the token
    expect(keys[0]!.value).not.toContain('PRIVATE KEY');
    expect(keys[0]!.value).not.toContain(pkiA.adminToken);

    const b = dir();
    const r2 = await syncBootstrapData(await open(), { dataDir: b, token: readFileSync(join(a, 'token'), 'utf8') });
    expect(r2).toEqual({ created: false, written: expect.arrayContaining([...BOOTSTRAP_FILES]) });
    for (const f of BOOTSTRAP_FILES) {
      expect(readFileSync(join(b, f), 'utf8')).toBe(readFileSync(join(a, f), 'utf8'));
      expect(statSync(join(b, f)).mode & 0o777, f).toBe(f.endsWith('.crt') ? 0o644 : 0o600);
    }
    const pkiB = await ensurePki(b, ['localhost', '10.0.0.2']);
    expect(pkiB.caPem).toBe(pkiA.caPem);
    expect(pkiB.joinToken).toBe(pkiA.joinToken);
    expect(pkiB.adminToken).toBe(pkiA.adminToken);
    expect(pkiB.certPem).not.toBe(pkiA.certPem); // its own serving certificate, for its own addresses
    expect(pkiB.certPem).toContain(pkiA.caPem.trim());
    // a restart of either changes nothing
    expect(await syncBootstrapData(await open(), { dataDir: a })).toEqual({ created: false, written: [] });
    expect(await syncBootstrapData(await open(), { dataDir: b })).toEqual({ created: false, written: [] });
  }, 60_000);

  it('the bare secret is a token too; a wrong token is refused and writes nothing', async () => {
    const a = dir();
    await syncBootstrapData(await open(), { dataDir: a, token: 'my-cluster-secret' });
    expect(readFileSync(join(a, 'join-secret'), 'utf8').trim()).toBe('my-cluster-secret');
    const b = dir();
    await syncBootstrapData(await open(), { dataDir: b, token: 'my-cluster-secret' });
    expect(readFileSync(join(b, 'admin-token'), 'utf8')).toBe(readFileSync(join(a, 'admin-token'), 'utf8'));

    const c = dir();
    await expect(syncBootstrapData(await open(), { dataDir: c, token: 'wrong-secret' })).rejects.toThrow(
      /encrypted with a different token/,
    );
    await expect(syncBootstrapData(await open(), { dataDir: c })).rejects.toThrow(
      /already holds a cluster's bootstrap data/,
    );
    expect(readdirSync(c)).toEqual([]);
    // the right secret under a K10 token of another CA: refused too
    const otherCa = `K10${'ab'.repeat(32)}::node:my-cluster-secret`;
    await expect(syncBootstrapData(await open(), { dataDir: c, token: otherCa })).rejects.toThrow(
      /CA hash .* another cluster/,
    );
    expect(readdirSync(c)).toEqual([]);
  }, 60_000);

  it("a data dir whose keys differ from the datastore's refuses to start and keeps its files", async () => {
    const a = dir();
    await syncBootstrapData(await open(), { dataDir: a, token: 'tok-1' });
    const b = dir();
    await syncBootstrapData(await open(), { dataDir: b, token: 'tok-1' });
    writeFileSync(join(b, 'sa.key'), 'another key\n', { mode: 0o600 });
    rmSync(join(b, 'admin-token'));
    const err = await syncBootstrapData(await open(), { dataDir: b }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootstrapError);
    expect((err as Error).message).toContain(`${join(b, 'sa.key')} differ from the cluster's bootstrap data`);
    expect(readFileSync(join(b, 'sa.key'), 'utf8')).toBe('another key\n');
    expect(existsSync(join(b, 'admin-token'))).toBe(false); // a refusal writes nothing
    // a token contradicting the data dir's own join secret is refused before the datastore is asked
    await expect(syncBootstrapData(await open(), { dataDir: a, token: 'tok-2' })).rejects.toThrow(
      /not this data dir's/,
    );
  }, 60_000);

  it('first servers racing with one token: one creates the data, every other takes the same', async () => {
    const ds = [dir(), dir(), dir(), dir()];
    const ss = await Promise.all(ds.map(() => open()));
    const rs = await Promise.all(ds.map((d, i) => syncBootstrapData(ss[i]!, { dataDir: d, token: 'race-token' })));
    expect(rs.filter((r) => r.created)).toHaveLength(1);
    expect((await ss[0]!.list(BOOTSTRAP_PREFIX)).items).toHaveLength(1);
    const want = readBootstrapFiles(ds[0]!);
    for (const d of ds) expect(readBootstrapFiles(d)).toEqual(want);
  }, 60_000);

  it('first servers racing with different tokens: the key created first wins everywhere; the others refuse', async () => {
    const ds = [dir(), dir(), dir()];
    const ss = await Promise.all(ds.map(() => open()));
    const rs = await Promise.allSettled(
      ds.map((d, i) => syncBootstrapData(ss[i]!, { dataDir: d, token: `token-${i}` })),
    );
    const ok = rs.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of rs) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/different token/);
    const left = (await ss[0]!.list(BOOTSTRAP_PREFIX)).items;
    expect(left).toHaveLength(1);
    const winner = rs.findIndex((r) => r.status === 'fulfilled');
    expect(left[0]!.key).toBe(bootstrapKey(`token-${winner}`));
    rs.forEach((r, i) => {
      if (r.status === 'rejected') expect(readdirSync(ds[i]!)).toEqual([]);
    });
  }, 60_000);

  it('a server that already had keys (etcd before shared bootstrap data) seals its own files, keeping them', async () => {
    const a = dir();
    const pki = await ensurePki(a, ['localhost']);
    const before = readFileSync(join(a, 'tls', 'server-ca.key'), 'utf8');
    const r = await syncBootstrapData(await open(), { dataDir: a });
    expect(r.created).toBe(true);
    expect(r.written.sort()).toEqual(['encryption-config.json', 'sa.key']);
    expect(readFileSync(join(a, 'tls', 'server-ca.key'), 'utf8')).toBe(before);
    const b = dir();
    await syncBootstrapData(await open(), { dataDir: b, token: pki.joinToken });
    expect((await ensurePki(b, ['localhost'])).caPem).toBe(pki.caPem);
  }, 60_000);
});

describe('the token on SQLite and from a file', () => {
  it('--token names the join secret of a new data dir and must match an existing one', async () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-boot-'));
    try {
      expect(applyTokenToDataDir(d, 'chosen-secret')).toBe(true);
      const pki = await ensurePki(d, ['localhost']);
      expect(pki.joinSecret).toBe('chosen-secret');
      expect(applyTokenToDataDir(d, pki.joinToken)).toBe(false);
      expect(() => applyTokenToDataDir(d, 'other')).toThrow(/not this data dir's/);
      const f = join(d, 'tokfile');
      writeFileSync(f, `${pki.joinToken}\n`);
      expect(resolveToken({ tokenFile: f })).toBe(pki.joinToken);
      writeFileSync(f, 'two words\n');
      expect(() => resolveToken({ tokenFile: f })).toThrow(BootstrapError);
      expect(() => resolveToken({ tokenFile: join(d, 'missing') })).toThrow(/--token-file/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
