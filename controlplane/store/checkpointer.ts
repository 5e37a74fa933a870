// WAL checkpoints off the event loop: a checkpoint copies WAL pages into the database
// and fsyncs, which stalls a synchronous SQLite connection for milliseconds. The main
// connection runs with auto-checkpoint off; this worker thread, on its own connection,
// checkpoints (PASSIVE: never blocks the writer) every interval. Once the -wal file is past
// walLimitBytes it leaves the checkpoint lock to the writer, whose TRUNCATE checkpoint
// (sqlite.ts) would otherwise find it busy.
import { Worker } from 'node:worker_threads';

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const walPath = workerData.path + '-wal';
const tick = (force) => {
  try {
    const size = statSync(walPath, { throwIfNoEntry: false })?.size ?? 0;
    if (force || size <= workerData.walLimitBytes) db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) { parentPort.postMessage(String(e && e.message || e)); }
};
const t = setInterval(() => tick(false), workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(t); tick(true); db.close(); process.exit(0); } });
`;

export function startCheckpointer(
  path: string,
  modulePath: string,
  intervalMs = 1000,
  walLimitBytes = Infinity,
  onError?: (msg: string) => void,
): { stop(): Promise<void> } {
  const w = new Worker(WORKER_SRC, { eval: true, workerData: { path, module: modulePath, intervalMs, walLimitBytes } });
  w.on('message', (m: string) => onError?.(m));
  w.on('error', (e) => onError?.(e.message));
  w.unref();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.postMessage('stop');
        setTimeout(() => {
          void w.terminate();
          resolve();
        }, 2000).unref();
      }),
  };
}
