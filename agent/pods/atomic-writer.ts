// kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go): the files of a configMap,
// secret, downwardAPI or projected volume are written to a fresh timestamped directory
// `..2006_01_02_15_04_05.XXXXXX`, then the `..data` symlink is swapped to it with one
// rename(2), so a reader inside the container sees either the old set or the new one,
// never a mix. The names users see are symlinks `key -> ..data/key` (for nested paths,
// the first path element). Nothing is written when the content and modes are unchanged.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix } from 'node:path';

export interface FileProjection {
  data: Buffer | string;
  mode: number;
}
export type Payload = Record<string, FileProjection>;

export const DATA_DIR_NAME = '..data';
const DATA_DIR_TMP_NAME = '..data_tmp';
const MAX_PATH = 4096;
const MAX_FILENAME = 255;

export class PayloadError extends Error {}

/** validatePath: relative, no '..' element, not starting with '..' */
export function validatePath(p: string): void {
  if (p === '') throw new PayloadError('invalid path: must not be empty');
  if (p.length > MAX_PATH) throw new PayloadError(`invalid path: must be less than or equal to ${MAX_PATH} characters`);
  if (p.startsWith('/')) throw new PayloadError(`invalid path: must be relative path: ${p}`);
  const items = p.split('/');
  for (const item of items) {
    if (item === '..') throw new PayloadError(`invalid path: must not contain '..': ${p}`);
    if (item.length > MAX_FILENAME)
      throw new PayloadError(`invalid path: filenames must be less than or equal to ${MAX_FILENAME} characters`);
  }
  if (items[0]!.startsWith('..')) throw new PayloadError(`invalid path: must not start with '..': ${p}`);
}

function cleanPayload(payload: Payload): Map<string, { data: Buffer; mode: number }> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  for (const [p, f] of Object.entries(payload)) {
    validatePath(p);
    const clean = posix.normalize(p).replace(/\/+$/, '');
    validatePath(clean);
    out.set(clean, { data: Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data, 'utf8'), mode: f.mode & 0o7777 });
  }
  return out;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** the files under a timestamped dir, relative paths to content and mode */
function readDir(root: string): Map<string, { data: Buffer; mode: number }> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  const walk = (rel: string) => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else if (d.isFile())
        out.set(r, { data: readFileSync(join(root, r)), mode: statSync(join(root, r)).mode & 0o7777 });
    }
  };
  walk('');
  return out;
}

function samePayload(
  a: Map<string, { data: Buffer; mode: number }>,
  b: Map<string, { data: Buffer; mode: number }>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [p, f] of a) {
    const g = b.get(p);
    if (!g || g.mode !== f.mode || !g.data.equals(f.data)) return false;
  }
  return true;
}

function timestamp(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}.`;
}

/**
 * Make `targetDir` hold exactly `payload`. Returns whether anything was written.
 * Throws PayloadError for a path that would escape the volume.
 */
export function writeAtomic(targetDir: string, payload: Payload, now = new Date()): boolean {
  const files = cleanPayload(payload);
  mkdirSync(targetDir, { recursive: true });
  const dataLink = join(targetDir, DATA_DIR_NAME);
  let oldTsName: string | undefined;
  try {
    oldTsName = readlinkSync(dataLink);
  } catch {
    /* first write */
  }
  const oldTsDir = oldTsName ? join(targetDir, oldTsName) : undefined;
  let old = new Map<string, { data: Buffer; mode: number }>();
  if (oldTsDir) {
    try {
      old = readDir(oldTsDir);
    } catch {
      oldTsName = undefined;
    }
  }
  const newTop = new Set([...files.keys()].map((p) => p.split('/')[0]!));
  let written = false;

  if (!oldTsName || !samePayload(files, old)) {
    // 1. the new generation, in its own timestamped directory (0755 so every user in the container can read through it)
    const tsDir = mkdtempSync(join(targetDir, timestamp(now)));
    chmodSync(tsDir, 0o755);
    try {
      for (const [p, f] of files) {
        const full = join(tsDir, p);
        mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
        // 0600 until chmod sets the projected mode, which must not depend on the agent's umask
        writeFileSync(full, f.data, { mode: 0o600, flag: 'wx' });
        chmodSync(full, f.mode);
      }
      // 2. ..data_tmp -> new dir, renamed over ..data: the atomic switch
      const tmpLink = join(targetDir, DATA_DIR_TMP_NAME);
      rmSync(tmpLink, { force: true });
      symlinkSync(posix.basename(tsDir), tmpLink);
      renameSync(tmpLink, dataLink);
    } catch (e) {
      rmSync(tsDir, { recursive: true, force: true });
      throw e;
    }
    written = true;
  }

  // 3. the user-visible names, symlinks into ..data
  for (const top of newTop) {
    const visible = join(targetDir, top);
    if (isSymlink(visible)) continue;
    rmSync(visible, { recursive: true, force: true });
    symlinkSync(posix.join(DATA_DIR_NAME, top), visible);
  }
  // 4. names no longer in the payload, and generations no longer current (old, or left by a crash)
  const current = readlinkSync(dataLink);
  for (const name of readdirSync(targetDir)) {
    if (name === DATA_DIR_NAME || name === current) continue;
    if (name.startsWith('..')) {
      rmSync(join(targetDir, name), { recursive: true, force: true });
      written = written || name === oldTsName;
    } else if (!newTop.has(name) && isSymlink(join(targetDir, name))) {
      unlinkSync(join(targetDir, name));
    }
  }
  return written;
}
