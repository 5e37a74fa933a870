// A bounded du(1): the bytes a directory tree holds on disk (st_blocks × 512, as kubelet's
// fsquota-less "du" measure), counting hard-linked files once, never following symlinks nor
// crossing into other filesystems (a bind or tmpfs mounted inside). It stops as soon as
// the total passes `stopAbove` (an emptyDir over its sizeLimit needs no exact figure) or
// after `maxEntries` entries, so one measure stays cheap whatever a container writes.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface DiskUsage {
  bytes: number;
  entries: number /** stopped early: bytes is a lower bound */;
  partial: boolean;
}

export async function diskUsage(
  dir: string,
  opts: { stopAbove?: number; maxEntries?: number } = {},
): Promise<DiskUsage> {
  const stopAbove = opts.stopAbove ?? Number.POSITIVE_INFINITY;
  const maxEntries = opts.maxEntries ?? 200_000;
  let bytes = 0;
  let entries = 0;
  const seen = new Set<string>();
  let root;
  try {
    root = await lstat(dir);
  } catch {
    return { bytes: 0, entries: 0, partial: false };
  }
  const stack = [dir];
  while (stack.length) {
    const p = stack.pop()!;
    let st;
    try {
      st = p === dir ? root : await lstat(p);
    } catch {
      continue;
    }
    if (st.dev !== root.dev) continue;
    entries++;
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    bytes += st.blocks * 512;
    if (bytes > stopAbove || entries >= maxEntries)
      return { bytes, entries, partial: stack.length > 0 || st.isDirectory() };
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = await readdir(p);
      } catch {
        continue;
      }
      for (const n of names) stack.push(join(p, n));
    }
  }
  return { bytes, entries, partial: false };
}
