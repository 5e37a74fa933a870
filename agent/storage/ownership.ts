// kubelet's SetVolumeOwnership (pkg/volume/volume_linux.go) for a pod's fsGroup: every
// file and directory of the volume gets group fsGroup, group read/write (read for
// read-only volumes such as configMap and secret ones), directories also group execute
// and setgid so that what the containers create later inherits the group. Symlinks are
// re-grouped but never followed. fsGroupChangePolicy OnRootMismatch skips the walk when
// the volume's root already has the group and setgid. The walk is bounded: a huge
// volume stops being walked after `maxEntries` (what was done stays), and reports so.
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const RW_MASK = 0o660;
const RO_MASK = 0o440;
const EXEC_MASK = 0o110;
const SETGID = 0o2000;

export interface OwnershipResult {
  changed: number;
  complete: boolean;
}

function change(path: string, gid: number, readOnly: boolean): boolean {
  const st = lstatSync(path);
  if (st.gid !== gid) lchownSync(path, st.uid, gid);
  if (st.isSymbolicLink()) return true;
  let mask = readOnly ? RO_MASK : RW_MASK;
  if (st.isDirectory()) mask |= SETGID | EXEC_MASK;
  const mode = st.mode & 0o7777;
  if ((mode | mask) !== mode) chmodSync(path, mode | mask);
  return true;
}

/** does the volume's root already carry the group and setgid (OnRootMismatch)? */
export function rootMatches(dir: string, gid: number): boolean {
  try {
    const st = lstatSync(dir);
    return st.gid === gid && (st.mode & SETGID) !== 0;
  } catch {
    return false;
  }
}

export function setVolumeOwnership(
  dir: string,
  gid: number,
  opts: { readOnly?: boolean; policy?: string; maxEntries?: number } = {},
): OwnershipResult {
  if (opts.policy === 'OnRootMismatch' && rootMatches(dir, gid)) return { changed: 0, complete: true };
  const max = opts.maxEntries ?? 1_000_000;
  let changed = 0;
  const stack = [dir];
  while (stack.length) {
    const p = stack.pop()!;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    } // removed meanwhile
    change(p, gid, !!opts.readOnly);
    if (++changed >= max) return { changed, complete: false };
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p);
      } catch {
        continue;
      }
      for (const n of names) stack.push(join(p, n));
    }
  }
  return { changed, complete: true };
}
