// kubelet's AtomicWriter on a real filesystem: timestamped generations, the ..data symlink
// swap, user-visible symlinks, modes independent of the umask, no rewrite when unchanged,
// removal of keys that went away, and paths that would escape the volume refused.
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayloadError, validatePath, writeAtomic } from '../../agent/pods/atomic-writer.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-aw-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const generations = () => readdirSync(dir).filter((n) => /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./.test(n));
const mode = (p: string) => statSync(p).mode & 0o7777;

describe('AtomicWriter', () => {
  it('writes a generation, ..data and user-visible symlinks with the given modes', () => {
    const old = process.umask(0o077);
    try {
      expect(writeAtomic(dir, { 'a.txt': { data: 'A', mode: 0o644 }, 'sub/b.txt': { data: 'B', mode: 0o400 } })).toBe(
        true,
      );
    } finally {
      process.umask(old);
    }
    const gens = generations();
    expect(gens).toHaveLength(1);
    expect(mode(join(dir, gens[0]!))).toBe(0o755);
    expect(readlinkSync(join(dir, '..data'))).toBe(gens[0]);
    expect(readlinkSync(join(dir, 'a.txt'))).toBe('..data/a.txt');
    expect(readlinkSync(join(dir, 'sub'))).toBe('..data/sub');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('A');
    expect(readFileSync(join(dir, 'sub', 'b.txt'), 'utf8')).toBe('B');
    expect(mode(join(dir, 'a.txt'))).toBe(0o644);
    expect(mode(join(dir, 'sub', 'b.txt'))).toBe(0o400);
    expect(readdirSync(dir).sort()).toEqual(['..data', gens[0]!, 'a.txt', 'sub'].sort());
  });

  it('does nothing when content and modes are unchanged', () => {
    const payload = { k: { data: 'v', mode: 0o644 } };
    writeAtomic(dir, payload);
    const before = readlinkSync(join(dir, '..data'));
    expect(writeAtomic(dir, payload)).toBe(false);
    expect(readlinkSync(join(dir, '..data'))).toBe(before);
    // a mode change alone is a change
    expect(writeAtomic(dir, { k: { data: 'v', mode: 0o600 } })).toBe(true);
    expect(mode(join(dir, 'k'))).toBe(0o600);
  });

  it('swaps to a new generation on change, removes the old one and keys that went away', () => {
    writeAtomic(
      dir,
      { keep: { data: '1', mode: 0o644 }, gone: { data: 'x', mode: 0o644 } },
      new Date('2024-01-02T03:04:05Z'),
    );
    const first = readlinkSync(join(dir, '..data'));
    expect(first.startsWith('..2024_01_02_03_04_05.')).toBe(true);
    expect(writeAtomic(dir, { keep: { data: '2', mode: 0o644 }, added: { data: 'n', mode: 0o644 } })).toBe(true);
    const second = readlinkSync(join(dir, '..data'));
    expect(second).not.toBe(first);
    expect(generations()).toEqual([second]);
    expect(readFileSync(join(dir, 'keep'), 'utf8')).toBe('2');
    expect(readFileSync(join(dir, 'added'), 'utf8')).toBe('n');
    expect(() => lstatSync(join(dir, 'gone'))).toThrow();
    expect(lstatSync(join(dir, '..data')).isSymbolicLink()).toBe(true);
  });

  it('an empty payload is an empty volume; leftovers of a crashed write are cleaned up', () => {
    writeAtomic(dir, { a: { data: 'x', mode: 0o644 } });
    mkdtempSync(join(dir, '..2000_01_01_00_00_00.'));
    expect(writeAtomic(dir, {})).toBe(true);
    expect(readdirSync(dir).filter((n) => !n.startsWith('..'))).toEqual([]);
    expect(generations()).toHaveLength(1);
    expect(readdirSync(join(dir, '..data'))).toEqual([]);
  });

  it('binary content survives byte for byte', () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    writeAtomic(dir, { bin: { data: bytes, mode: 0o644 } });
    expect(readFileSync(join(dir, 'bin')).equals(bytes)).toBe(true);
    expect(writeAtomic(dir, { bin: { data: Buffer.from(bytes), mode: 0o644 } })).toBe(false);
  });

  it('refuses paths that would escape the volume or clash with its bookkeeping', () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', '..data', '..x', '', 'a/' + 'x'.repeat(256)]) {
      expect(() => validatePath(bad), bad).toThrow(PayloadError);
      expect(() => writeAtomic(dir, { [bad]: { data: 'x', mode: 0o644 } }), bad).toThrow(PayloadError);
    }
    for (const ok of ['.hidden', 'a/b/c', 'a..b', '.dockerconfigjson'])
      expect(() => validatePath(ok), ok).not.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});
