// Which process serves a data dir: skiff-server writes its pid to <data-dir>/skiff-server.pid
// while it runs, so `skiff-server snapshot restore` can refuse to swap the store under a
// live server. A pid file left by a crash names a dead process (or one that is not a
// Node.js program: a reused pid) and is ignored.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'skiff-server.pid';

/** write our pid; release() removes the file if it is still ours */
export function markDataDirInUse(dataDir: string): { release(): void } {
  const path = join(dataDir, PID_FILE);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return {
    release: () => {
      try {
        if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
      } catch {
        /* gone already */
      }
    },
  };
}

/** the pid of a live server (not this process) on dataDir, if any */
export function serverRunningOn(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!/node|skiff/.test(cmd)) return undefined;
  } catch {
    /* no /proc: trust the signal check */
  }
  return pid;
}
