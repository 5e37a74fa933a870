// Secrets encrypted at rest, end to end: a Secret made with the real kubectl reads back,
// yet neither state.db nor its WAL ever holds the value (plain or base64); the data dir
// survives a restart; a new first key in encryption-config.json re-encrypts at startup.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const enabled = kubectlAvailable();
const SECRET_KEY = '/registry/core/secrets/default/s';

/** state.db and state.db-wal (when present), as bytes */
function dbBytes(s: ServerProc): { db: Buffer; wal: Buffer; walExists: boolean } {
  const path = join(s.dataDir, 'state.db');
  const walExists = existsSync(path + '-wal');
  return { db: readFileSync(path), wal: walExists ? readFileSync(path + '-wal') : Buffer.alloc(0), walExists };
}

function rawValue(s: ServerProc, key: string): string | undefined {
  const db = new Database(join(s.dataDir, 'state.db'), { readonly: true });
  try {
    return (db.prepare('SELECT value FROM current WHERE name = ?').get(key) as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

const password = (s: ServerProc) =>
  Buffer.from(k(s, ['get', 'secret', 's', '-o', 'jsonpath={.data.password}']), 'base64').toString('utf8');

describe.skipIf(!enabled)('secrets at rest', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('never writes a Secret in plaintext; reads it back, also after a restart and a key rotation', async () => {
    const keyFile = join(s.dataDir, 'encryption-config.json');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const firstKey = (JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: { name: string; secret: string }[] }).keys;
    expect(firstKey).toHaveLength(1);

    k(s, ['create', 'secret', 'generic', 's', '--from-literal=password=hunter2']);
    // a ConfigMap canary proves the bytes we grep are where the data goes
    k(s, ['create', 'configmap', 'canary', '--from-literal=v=plain-canary-6b1f']);
    expect(password(s)).toBe('hunter2');
    expect(k(s, ['get', 'secret', 's', '-o', 'yaml'])).not.toContain('k8s:enc');
    // a second write of the same Secret (another log row)
    k(s, ['label', 'secret', 's', 'tier=db']);
    expect(password(s)).toBe('hunter2');

    // while running: the WAL holds the recent writes
    const live = dbBytes(s);
    const both = Buffer.concat([live.db, live.wal]);
    expect(both.includes('plain-canary-6b1f')).toBe(true);
    expect(both.includes('k8s:enc:aesgcm:v1:')).toBe(true);
    for (const needle of ['hunter2', 'aHVudGVyMg==']) {
      expect(live.db.includes(needle), `state.db contains ${needle}`).toBe(false);
      expect(live.wal.includes(needle), `state.db-wal contains ${needle}`).toBe(false);
    }

    await s.kill('SIGTERM');
    const stopped = dbBytes(s);
    for (const needle of ['hunter2', 'aHVudGVyMg==']) {
      expect(stopped.db.includes(needle)).toBe(false);
      expect(stopped.wal.includes(needle)).toBe(false);
    }
    expect(rawValue(s, SECRET_KEY)!.startsWith(`k8s:enc:aesgcm:v1:${firstKey[0]!.name}:`)).toBe(true);

    await s.restart();
    expect(password(s)).toBe('hunter2');
    expect(k(s, ['get', 'secret', 's', '-o', 'jsonpath={.metadata.labels.tier}'])).toBe('db');

    // rotation: a new first key, the old one kept for reading; restart re-encrypts
    await s.kill('SIGTERM');
    writeFileSync(
      keyFile,
      JSON.stringify({ keys: [{ name: 'rotated', secret: randomBytes(32).toString('base64') }, ...firstKey] }),
      { mode: 0o600 },
    );
    await s.restart();
    expect(rawValue(s, SECRET_KEY)!.startsWith('k8s:enc:aesgcm:v1:rotated:')).toBe(true);
    expect(password(s)).toBe('hunter2');
    await s.kill('SIGTERM');
    const rotated = dbBytes(s);
    expect(Buffer.concat([rotated.db, rotated.wal]).includes('hunter2')).toBe(false);
    expect(Buffer.concat([rotated.db, rotated.wal]).includes('aHVudGVyMg==')).toBe(false);
  });
});
