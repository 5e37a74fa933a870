// Secrets at rest: the EncryptingStore wrapper over the real SqliteStore, checked
// against the raw SQLite rows and file bytes.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../controlplane/api/errors.js';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { findResource } from '../../controlplane/resources/index.js';
import {
  AESGCM_PREFIX,
  DecryptionError,
  EncryptingStore,
  KEYRING_FILE,
  loadKeyring,
  openEncryptedStore,
  type EncryptionKey,
} from '../../controlplane/store/encrypting-store.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';
import type { StoreEvent } from '../../controlplane/store/types.js';

let dir: string;
let dbPath: string;
let inner: SqliteStore;
const k1: EncryptionKey = { name: 'k1', secret: randomBytes(32) };
const k2: EncryptionKey = { name: 'k2', secret: randomBytes(32) };

const SECRET_KEY = '/registry/core/secrets/default/s';
const secretJson = (pw = 'aHVudGVyMg==') =>
  JSON.stringify({
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name: 's', namespace: 'default' },
    type: 'Opaque',
    data: { password: pw },
  });
const CM_KEY = '/registry/core/configmaps/default/c';
const cmJson = JSON.stringify({
  kind: 'ConfigMap',
  apiVersion: 'v1',
  metadata: { name: 'c', namespace: 'default' },
  data: { motd: 'hello' },
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-enc-'));
  dbPath = join(dir, 'state.db');
  inner = new SqliteStore(dbPath);
});
afterEach(async () => {
  await inner.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

/** the raw rows for a key, read on a separate connection */
function rawRows(key: string): { current?: string; log: string[] } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const cur = db.prepare('SELECT value FROM current WHERE name = ?').get(key) as { value: string } | undefined;
    const log = (db.prepare('SELECT value FROM log WHERE name = ? ORDER BY id').all(key) as { value: string }[]).map(
      (r) => r.value,
    );
    return { current: cur?.value, log };
  } finally {
    db.close();
  }
}

function rawExec(sql: string, ...params: unknown[]): void {
  const db = new Database(dbPath);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/** a pause before checking that something did NOT happen (a slow machine can only make such a check pass falsely) */
const tick = () => new Promise((r) => setTimeout(r, 10));

/** wait (up to 5 s) until at least n watch callbacks' worth has arrived, then a tick more so
 *  that a surplus would show in the exact comparisons that follow */
async function received(seen: unknown[], n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (seen.length < n) {
    if (Date.now() > deadline)
      throw new Error(`timed out after 5 s waiting for ${n} watch deliveries, got ${seen.length}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await tick();
}

describe('EncryptingStore', () => {
  it('round-trips a Secret; the stored rows carry the prefix and no plaintext', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    const c = await s.create(SECRET_KEY, secretJson());
    expect(c.value).toBe(secretJson());
    expect((await s.get(SECRET_KEY))!.value).toBe(secretJson());
    const u = await s.update(SECRET_KEY, secretJson('czNjcjN0'), c.modRevision);
    expect(u.value).toBe(secretJson('czNjcjN0'));
    expect((await s.list('/registry/core/secrets/')).items.map((i) => i.value)).toEqual([secretJson('czNjcjN0')]);

    const raw = rawRows(SECRET_KEY);
    expect(raw.log).toHaveLength(2);
    for (const v of [raw.current!, ...raw.log]) {
      expect(v.startsWith(`${AESGCM_PREFIX}k1:`)).toBe(true);
      for (const plain of ['hunter2', 'aHVudGVyMg==', 'czNjcjN0', 'password', 'Opaque']) expect(v).not.toContain(plain);
    }
    // random nonce per write: two writes of the same value differ
    const again = await s.update(SECRET_KEY, secretJson(), u.modRevision);
    const raw2 = rawRows(SECRET_KEY).log;
    expect(raw2[2]).not.toBe(raw2[0]);
    const d = await s.delete(SECRET_KEY, again.modRevision);
    expect(d.value).toBe(secretJson());
    expect(await s.get(SECRET_KEY)).toBeUndefined();

    await s.close();
    const bytes = Buffer.concat([
      readFileSync(dbPath),
      existsSync(dbPath + '-wal') ? readFileSync(dbPath + '-wal') : Buffer.alloc(0),
    ]);
    expect(bytes.includes('aHVudGVyMg==')).toBe(false);
    expect(bytes.includes('czNjcjN0')).toBe(false);
  });

  it('leaves other resources as plain JSON', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    await s.create(CM_KEY, cmJson);
    expect(rawRows(CM_KEY).current).toBe(cmJson);
    expect((await s.get(CM_KEY))!.value).toBe(cmJson);
  });

  it('reads Secrets written before encryption existed and encrypts them on their next write', async () => {
    const old = await inner.create(SECRET_KEY, secretJson());
    const s = new EncryptingStore(inner, { keys: [k1] });
    expect((await s.get(SECRET_KEY))!.value).toBe(secretJson());
    expect((await s.list('/registry/core/')).items.map((i) => i.value)).toEqual([secretJson()]);
    await s.update(SECRET_KEY, secretJson('bmV3'), old.modRevision);
    expect(rawRows(SECRET_KEY).current!.startsWith(`${AESGCM_PREFIX}k1:`)).toBe(true);
    expect((await s.get(SECRET_KEY))!.value).toBe(secretJson('bmV3'));
  });

  it('tampered ciphertext, a moved ciphertext and an unknown key are InternalErrors, not crashes', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    await s.create(SECRET_KEY, secretJson());
    await s.create('/registry/core/secrets/default/t', secretJson());
    await s.create(CM_KEY, cmJson);
    const good = rawRows(SECRET_KEY).current!;

    // flip one byte of the ciphertext body
    const body = Buffer.from(good.slice(`${AESGCM_PREFIX}k1:`.length), 'base64');
    body[20] ^= 1;
    rawExec('UPDATE current SET value = ? WHERE name = ?', `${AESGCM_PREFIX}k1:${body.toString('base64')}`, SECRET_KEY);
    const err = await s.get(SECRET_KEY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecryptionError);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(500);
    expect((err as ApiError).reason).toBe('InternalError');
    expect((err as Error).message).toContain(SECRET_KEY);
    expect((err as Error).message).toMatch(/authentication failed/);
    await expect(s.list('/registry/core/secrets/')).rejects.toBeInstanceOf(DecryptionError);

    // a valid ciphertext of another key (AAD is the store key)
    rawExec('UPDATE current SET value = ? WHERE name = ?', good, '/registry/core/secrets/default/t');
    await expect(s.get('/registry/core/secrets/default/t')).rejects.toThrow(/authentication failed/);

    // a key the keyring does not have
    rawExec(
      'UPDATE current SET value = ? WHERE name = ?',
      good.replace(`${AESGCM_PREFIX}k1:`, `${AESGCM_PREFIX}gone:`),
      SECRET_KEY,
    );
    await expect(s.get(SECRET_KEY)).rejects.toThrow(/no encryption key named "gone"/);
    // truncated / unknown provider
    rawExec('UPDATE current SET value = ? WHERE name = ?', `${AESGCM_PREFIX}k1:AAAA`, SECRET_KEY);
    await expect(s.get(SECRET_KEY)).rejects.toThrow(/too short/);
    rawExec('UPDATE current SET value = ? WHERE name = ?', 'k8s:enc:kms:v2:x:abc', SECRET_KEY);
    await expect(s.get(SECRET_KEY)).rejects.toThrow(/no provider for prefix "k8s:enc:kms:"/);

    // the rest of the store is unaffected
    expect((await s.get(CM_KEY))!.value).toBe(cmJson);
  });

  it('through ApiStorage an undecryptable Secret is a 500 InternalError naming the object', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    const storage = new ApiStorage(s);
    const secrets = findResource('', 'v1', 'secrets')!;
    await s.create(
      '/registry/core/namespaces/default',
      JSON.stringify({
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name: 'default', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      }),
    );
    await storage.create(secrets, 'default', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: 'hunter2' },
    });
    const got = await storage.get(secrets, 'default', 's');
    expect(Buffer.from(String((got.data as Record<string, string>).password), 'base64').toString()).toBe('hunter2');
    expect(rawRows(SECRET_KEY).current).not.toContain('aHVudGVyMg==');

    rawExec(
      'UPDATE current SET value = ? WHERE name = ?',
      rawRows(SECRET_KEY).current!.replace(`${AESGCM_PREFIX}k1:`, `${AESGCM_PREFIX}k9:`),
      SECRET_KEY,
    );
    const err = await storage.get(secrets, 'default', 's').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toStatus()).toMatchObject({ code: 500, reason: 'InternalError' });
    expect((err as ApiError).message).toBe(
      `Internal error occurred: unable to transform key "${SECRET_KEY}": no encryption key named "k9" (aesgcm) in ${KEYRING_FILE}`,
    );
  });

  it('decrypts watch events: replay and live, ADDED/MODIFIED/DELETED with prevValue', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    const a = await s.create(SECRET_KEY, secretJson('MQ=='));
    await s.update(SECRET_KEY, secretJson('Mg=='), a.modRevision);

    const seen: StoreEvent[] = [];
    const w = await s.watch('/registry/core/secrets/', 0, (evs) => seen.push(...evs));
    await received(seen, 2);
    expect(seen.map((e) => [e.type, e.value, e.prevValue])).toEqual([
      ['PUT', secretJson('MQ=='), undefined],
      ['PUT', secretJson('Mg=='), secretJson('MQ==')],
    ]);
    seen.length = 0;
    const cur = (await s.get(SECRET_KEY))!;
    await s.update(SECRET_KEY, secretJson('Mw=='), cur.modRevision);
    await s.delete(SECRET_KEY);
    await received(seen, 2);
    expect(seen.map((e) => [e.type, e.value, e.prevValue])).toEqual([
      ['PUT', secretJson('Mw=='), secretJson('Mg==')],
      ['DELETE', secretJson('Mw=='), secretJson('Mw==')],
    ]);
    w.cancel();

    // a replay of the whole history, DELETE included, decrypted too
    const replay: StoreEvent[] = [];
    const w2 = await s.watch('/registry/', 0, (evs) => replay.push(...evs));
    await received(replay, 4);
    w2.cancel();
    expect(replay.map((e) => e.value)).toEqual([
      secretJson('MQ=='),
      secretJson('Mg=='),
      secretJson('Mw=='),
      secretJson('Mw=='),
    ]);
    expect(replay.some((e) => e.value.startsWith('k8s:enc:') || e.prevValue?.startsWith('k8s:enc:'))).toBe(false);
  });

  it('ends a watch on an undecryptable event: earlier events delivered, onError called, nothing thrown', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    await s.create(CM_KEY, cmJson);
    await s.create(SECRET_KEY, secretJson());
    rawExec(
      'UPDATE log SET value = ? WHERE name = ?',
      `${AESGCM_PREFIX}nope:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
      SECRET_KEY,
    );
    const seen: StoreEvent[] = [];
    const errors: Error[] = [];
    await s.watch(
      '/registry/',
      0,
      (evs) => seen.push(...evs),
      (e) => errors.push(e),
    );
    await received(errors, 1);
    expect(seen.map((e) => e.key)).toEqual([CM_KEY]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecryptionError);
    // cancelled: later writes are not delivered
    await s.create('/registry/core/configmaps/default/d', cmJson);
    await tick();
    expect(seen).toHaveLength(1);
  });

  it('pages with continue across encrypted and plain values', async () => {
    const s = new EncryptingStore(inner, { keys: [k1] });
    for (const n of ['a', 'b', 'c']) await s.create(`/registry/core/secrets/ns/${n}`, `{"n":"${n}"}`);
    const p1 = await s.list('/registry/core/secrets/ns/', { limit: 2 });
    expect(p1.items.map((i) => i.value)).toEqual(['{"n":"a"}', '{"n":"b"}']);
    expect(p1.more).toBe(true);
    const cur = (await s.get('/registry/core/secrets/ns/c'))!;
    await s.update('/registry/core/secrets/ns/c', '{"n":"c2"}', cur.modRevision);
    const p2 = await s.list('/registry/core/secrets/ns/', {
      limit: 2,
      startAfter: p1.items[1]!.key,
      revision: p1.revision,
    });
    expect(p2.items.map((i) => i.value)).toEqual(['{"n":"c"}']);
    // compaction passes through and keeps the latest values readable
    await s.compact(await s.currentRevision());
    expect((await s.list('/registry/core/secrets/ns/')).items.map((i) => i.value)).toEqual([
      '{"n":"a"}',
      '{"n":"b"}',
      '{"n":"c2"}',
    ]);
  });

  it('rotates: a new first key writes, the old key still decrypts, rewriteAll moves everything to the new key', async () => {
    const s1 = new EncryptingStore(inner, { keys: [k1] });
    await s1.create(SECRET_KEY, secretJson());
    await inner.create('/registry/core/secrets/default/plain', secretJson('cGxhaW4='));
    await s1.create(CM_KEY, cmJson);

    const s2 = new EncryptingStore(inner, { keys: [k2, k1] });
    expect((await s2.get(SECRET_KEY))!.value).toBe(secretJson());
    await s2.create('/registry/core/secrets/default/new', secretJson('bmV3'));
    expect(rawRows('/registry/core/secrets/default/new').current!.startsWith(`${AESGCM_PREFIX}k2:`)).toBe(true);

    const r = await s2.rewriteAll();
    expect(r).toEqual({ rewritten: 2, failed: [] });
    for (const key of [SECRET_KEY, '/registry/core/secrets/default/plain'])
      expect(rawRows(key).current!.startsWith(`${AESGCM_PREFIX}k2:`)).toBe(true);
    expect(rawRows(CM_KEY).current).toBe(cmJson);
    expect(await s2.rewriteAll()).toEqual({ rewritten: 0, failed: [] });

    // the old key can go: current values read with k2 alone
    const s3 = new EncryptingStore(inner, { keys: [k2] });
    expect((await s3.list('/registry/core/secrets/')).items.map((i) => i.value)).toEqual([
      secretJson('bmV3'),
      secretJson('cGxhaW4='),
      secretJson(),
    ]);
  });

  it('disabled: writes plaintext, decrypts stored Secrets with the keys it has', async () => {
    const s1 = new EncryptingStore(inner, { keys: [k1] });
    await s1.create(SECRET_KEY, secretJson());
    const off = new EncryptingStore(inner, { keys: [k1], encrypt: false });
    expect((await off.get(SECRET_KEY))!.value).toBe(secretJson());
    expect(await off.rewriteAll()).toEqual({ rewritten: 1, failed: [] });
    expect(rawRows(SECRET_KEY).current).toBe(secretJson());
  });
});

describe('keyring file and openEncryptedStore', () => {
  it('makes a 0600 key file on first start, reuses it, and re-encrypts under a new first key at open', async () => {
    const s = await openEncryptedStore(inner, dir);
    const path = join(dir, KEYRING_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { keys: { name: string; secret: string }[] };
    expect(doc.keys).toHaveLength(1);
    expect(Buffer.from(doc.keys[0]!.secret, 'base64')).toHaveLength(32);
    await s.create(SECRET_KEY, secretJson());
    expect(rawRows(SECRET_KEY).current!.startsWith(`${AESGCM_PREFIX}${doc.keys[0]!.name}:`)).toBe(true);
    expect(loadKeyring(dir, true).map((k) => k.name)).toEqual([doc.keys[0]!.name]);

    // rotation: prepend a key, reopen
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      path,
      JSON.stringify({ keys: [{ name: 'next', secret: randomBytes(32).toString('base64') }, ...doc.keys] }),
      { mode: 0o600 },
    );
    const s2 = await openEncryptedStore(inner, dir);
    expect(rawRows(SECRET_KEY).current!.startsWith(`${AESGCM_PREFIX}next:`)).toBe(true);
    expect((await s2.get(SECRET_KEY))!.value).toBe(secretJson());
  });

  it('refuses a malformed key file instead of making a new key', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, KEYRING_FILE), '{"keys": [{"name": "k", "secret": "c2hvcnQ="}]}', { mode: 0o600 });
    await expect(openEncryptedStore(inner, dir)).rejects.toThrow(/secret is 5 bytes/);
    writeFileSync(join(dir, KEYRING_FILE), 'nope', { mode: 0o600 });
    expect(() => loadKeyring(dir, true)).toThrow(/not JSON/);
  });

  it('disabled with no key file: makes none, stores plaintext', async () => {
    const s = await openEncryptedStore(inner, dir, { enabled: false });
    expect(existsSync(join(dir, KEYRING_FILE))).toBe(false);
    await s.create(SECRET_KEY, secretJson());
    expect(rawRows(SECRET_KEY).current).toBe(secretJson());
  });
});
