// --snapshot-schedule: the server takes a snapshot into <data-dir>/snapshots/ at every
// matching minute (UTC) and keeps the newest --snapshot-retention of them (k3s'
// --etcd-snapshot-schedule-cron / --etcd-snapshot-retention). A failed snapshot is
// logged and the next one tried at its time. An SQLite copy runs on the server's event
// loop in one step (milliseconds for tens of MB).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { nextCronTime, parseCron } from './cron.js';
import { SNAPSHOT_DIR } from './snapshots.js';
import type { SnapshotInfo } from '../store/sqlite-snapshot.js';

const NAME = /^skiff-snapshot-\d{8}T\d{6}Z\.db$/;

export function snapshotFileName(at: Date): string {
  return `skiff-snapshot-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.db`;
}

/** which of the snapshot files in the directory to delete to keep `retention` (oldest first; others' files untouched) */
export function snapshotsToPrune(names: string[], retention: number): string[] {
  const ours = names.filter((n) => NAME.test(n)).sort();
  return ours.slice(0, Math.max(0, ours.length - retention));
}

export interface ScheduledSnapshots {
  /** take one now (what the timer does), then prune */
  runOnce(at?: Date): Promise<string>;
  stop(): void;
}

export function startScheduledSnapshots(o: {
  dataDir: string;
  schedule: string;
  retention: number;
  save: (file: string) => Promise<SnapshotInfo>;
  log?: Logger;
  now?: () => Date;
}): ScheduledSnapshots {
  const cron = parseCron(o.schedule);
  const now = o.now ?? (() => new Date());
  const dir = join(o.dataDir, SNAPSHOT_DIR);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runOnce = async (at = now()): Promise<string> => {
    const file = join(dir, snapshotFileName(at));
    const r = await o.save(file);
    for (const n of snapshotsToPrune(readdirSync(dir), o.retention)) rmSync(join(dir, n), { force: true });
    o.log?.info({ file, revision: r.revision, bytes: r.bytes }, 'scheduled snapshot saved');
    return file;
  };
  const arm = () => {
    if (stopped) return;
    const next = nextCronTime(cron, now());
    if (!next) {
      o.log?.warn({ schedule: o.schedule }, 'snapshot schedule never matches');
      return;
    }
    // long waits in steps: timers past ~24.8 days overflow
    const wait = Math.min(next.getTime() - now().getTime(), 6 * 3600_000);
    timer = setTimeout(
      () => {
        if (now().getTime() < next.getTime()) {
          arm();
          return;
        }
        runOnce(next)
          .catch((err: unknown) => o.log?.error({ err }, 'scheduled snapshot failed'))
          .finally(arm);
      },
      Math.max(0, wait),
    );
    timer.unref();
  };
  arm();
  return {
    runOnce,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
