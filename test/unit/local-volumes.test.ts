// The agent's local-path volume directories (agent/storage/local-volumes.ts) and the
// volume messages' schemas: a volume is <base>/<pvName> (0777, recorded), only a DNS-1123
// name, only a sane absolute base; an existing directory is never adopted; a delete
// removes only what this agent recorded for that name, never a symlink or a named path.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalVolumes, baseError, fsErrorText } from '../../agent/storage/local-volumes.js';
import { handleVolumeRequest } from '../../agent/storage/volume-requests.js';
import { parseAgentMessage, parseServerMessage } from '../../proto/agent-protocol.js';

let dir: string;
let v: LocalVolumes;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-lv-'));
  v = new LocalVolumes(join(dir, 'agent'));
});
afterEach(() => {
  chmodSync(dir, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalVolumes.create', () => {
  it('makes <data-dir>/storage/<pv> 0777 under a 0700 base, idempotently', () => {
    const p = v.create({ pvName: 'pvc-1234', sizeBytes: 1024 });
    expect(p).toBe(join(dir, 'agent', 'storage', 'pvc-1234'));
    expect(statSync(p).mode & 0o7777).toBe(0o777);
    expect(statSync(join(dir, 'agent', 'storage')).mode & 0o777).toBe(0o700);
    writeFileSync(join(p, 'data'), 'x');
    // a retry (lost answer) gets the same directory, content kept
    expect(v.create({ pvName: 'pvc-1234', sizeBytes: 1024 })).toBe(p);
    expect(existsSync(join(p, 'data'))).toBe(true);
    expect(v.record('pvc-1234')).toMatchObject({ path: p, sizeBytes: 1024 });
  });

  it('uses the class base path when given', () => {
    const base = join(dir, 'disk2', 'volumes');
    expect(v.create({ pvName: 'pvc-a', basePath: base, sizeBytes: 0 })).toBe(join(base, 'pvc-a'));
    expect(v.create({ pvName: 'pvc-b', basePath: `${base}/`, sizeBytes: 0 })).toBe(join(base, 'pvc-b'));
  });

  it('refuses names that are not one DNS-1123 path element', () => {
    for (const pvName of ['..', '.', '../etc', 'a/b', '/etc', 'A', '', 'a..b', '-a', 'x'.repeat(254), 'a\0b']) {
      expect(() => v.create({ pvName, sizeBytes: 0 }), pvName).toThrow(/not a DNS-1123 subdomain/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses bases that are relative, not normalised, / or system trees', () => {
    for (const basePath of [
      'relative/dir',
      `${dir}/a/../b`,
      `${dir}/./b`,
      `${dir}//b`,
      '/',
      '/proc',
      '/proc/1',
      '/sys/fs',
      '/dev/shm',
    ]) {
      expect(baseError(basePath), basePath).toBeTruthy();
      expect(() => v.create({ pvName: 'pv1', basePath, sizeBytes: 0 }), basePath).toThrow(/base path/);
    }
  });

  it('never adopts an existing directory, file or symlink it did not make', () => {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'passwd'), 'root');
    expect(() => v.create({ pvName: 'etc', basePath: dir, sizeBytes: 0 })).toThrow(
      /already exists and was not created by this agent/,
    );
    symlinkSync(join(dir, 'etc'), join(dir, 'link'));
    expect(() => v.create({ pvName: 'link', basePath: dir, sizeBytes: 0 })).toThrow(/already exists/);
    expect(v.record('etc')).toBeUndefined();
    // and so it will not delete it either
    return expect(v.remove({ pvName: 'etc', path: join(dir, 'etc') })).rejects.toThrow(/was not created by this agent/);
  });

  it('reports permission errors as Go does and leaves nothing behind', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro, { mode: 0o500 });
    chmodSync(ro, 0o500);
    if (process.getuid?.() === 0) {
      // root ignores modes: a file where the base's parent should be gives ENOTDIR instead
      writeFileSync(join(dir, 'file'), '');
      expect(() => v.create({ pvName: 'pv1', basePath: join(dir, 'file', 'base'), sizeBytes: 0 })).toThrow(
        `mkdir ${join(dir, 'file', 'base')}: not a directory`,
      );
    } else {
      expect(() => v.create({ pvName: 'pv1', basePath: ro, sizeBytes: 0 })).toThrow(
        `mkdir ${join(ro, 'pv1')}: permission denied`,
      );
    }
    expect(v.record('pv1')).toBeUndefined();
    expect(fsErrorText('mkdir', '/x', Object.assign(new Error('boom'), { code: 'ENOSPC' }))).toBe(
      'mkdir /x: no space left on device',
    );
  });
});

describe('LocalVolumes.remove', () => {
  it('removes what it made, recursively, and forgets it; a second remove is a no-op', async () => {
    const p = v.create({ pvName: 'pvc-9', sizeBytes: 0 });
    mkdirSync(join(p, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(p, 'sub', 'deeper', 'f'), 'x');
    // a symlink inside the volume pointing out of it: removed, its target kept
    writeFileSync(join(dir, 'outside'), 'keep');
    symlinkSync(join(dir, 'outside'), join(p, 'sub', 'escape'));
    await v.remove({ pvName: 'pvc-9', path: p });
    expect(existsSync(p)).toBe(false);
    expect(existsSync(join(dir, 'outside'))).toBe(true);
    expect(v.record('pvc-9')).toBeUndefined();
    await v.remove({ pvName: 'pvc-9', path: p });
  });

  it('refuses a path other than the one it recorded for that name', async () => {
    const p = v.create({ pvName: 'pvc-a', sizeBytes: 0 });
    const q = v.create({ pvName: 'pvc-b', sizeBytes: 0 });
    await expect(v.remove({ pvName: 'pvc-a', path: q })).rejects.toThrow(/not deleting it/);
    await expect(v.remove({ pvName: 'pvc-a', path: dir })).rejects.toThrow(/not deleting it/);
    await expect(v.remove({ pvName: 'pvc-a', path: `${p}/../pvc-b` })).rejects.toThrow(/not deleting it/);
    await expect(v.remove({ pvName: 'pvc-c', path: '/etc' })).rejects.toThrow(/was not created by this agent/);
    await expect(v.remove({ pvName: '..', path: p })).rejects.toThrow(/DNS-1123/);
    expect(existsSync(p) && existsSync(q)).toBe(true);
  });

  it('refuses to follow a volume directory replaced by a symlink', async () => {
    const p = v.create({ pvName: 'pvc-s', sizeBytes: 0 });
    const target = join(dir, 'precious');
    mkdirSync(target);
    writeFileSync(join(target, 'f'), 'x');
    rmSync(p, { recursive: true });
    symlinkSync(target, p);
    await expect(v.remove({ pvName: 'pvc-s', path: p })).rejects.toThrow(/symbolic link/);
    expect(existsSync(join(target, 'f'))).toBe(true);
    expect(lstatSync(p).isSymbolicLink()).toBe(true);
  });
});

describe('volume messages', () => {
  it('parse the valid ones and reject bad names and paths', () => {
    expect(
      parseServerMessage(JSON.stringify({ type: 'volumeCreate', id: 'a', pvName: 'pvc-1', sizeBytes: 10 })).ok,
    ).toBe(true);
    expect(
      parseServerMessage(
        JSON.stringify({ type: 'volumeCreate', id: 'a', pvName: 'pvc-1', basePath: '/data', sizeBytes: 10 }),
      ).ok,
    ).toBe(true);
    expect(
      parseServerMessage(JSON.stringify({ type: 'volumeDelete', id: 'a', pvName: 'pvc-1', path: '/data/pvc-1' })).ok,
    ).toBe(true);
    expect(parseAgentMessage(JSON.stringify({ type: 'volumeResult', id: 'a', path: '/data/pvc-1' })).ok).toBe(true);
    expect(
      parseAgentMessage(JSON.stringify({ type: 'volumeResult', id: 'a', error: 'mkdir /x: permission denied' })).ok,
    ).toBe(true);
    for (const bad of [
      { type: 'volumeCreate', id: 'a', pvName: '../x', sizeBytes: 1 },
      { type: 'volumeCreate', id: 'a', pvName: 'a/b', sizeBytes: 1 },
      { type: 'volumeCreate', id: 'a', pvName: 'pv', basePath: 'rel', sizeBytes: 1 },
      { type: 'volumeCreate', id: 'a', pvName: 'pv', sizeBytes: -1 },
      { type: 'volumeCreate', id: '', pvName: 'pv', sizeBytes: 1 },
      { type: 'volumeDelete', id: 'a', pvName: 'pv', path: 'x' },
      { type: 'volumeDelete', id: 'a', pvName: 'pv' },
    ])
      expect(parseServerMessage(JSON.stringify(bad)).ok, JSON.stringify(bad)).toBe(false);
    expect(parseAgentMessage(JSON.stringify({ type: 'volumeResult', id: 'a'.repeat(65) })).ok).toBe(false);
  });

  it('are answered with the path or the reason', async () => {
    expect(await handleVolumeRequest(v, { type: 'volumeCreate', id: 'r1', pvName: 'pvc-x', sizeBytes: 5 })).toEqual({
      type: 'volumeResult',
      id: 'r1',
      path: join(dir, 'agent', 'storage', 'pvc-x'),
    });
    expect(
      await handleVolumeRequest(v, { type: 'volumeDelete', id: 'r2', pvName: 'pvc-x', path: '/etc' }),
    ).toMatchObject({ type: 'volumeResult', id: 'r2', error: expect.stringMatching(/not deleting it/) });
    expect(
      await handleVolumeRequest(v, {
        type: 'volumeDelete',
        id: 'r3',
        pvName: 'pvc-x',
        path: join(dir, 'agent', 'storage', 'pvc-x'),
      }),
    ).toEqual({ type: 'volumeResult', id: 'r3' });
  });
});
