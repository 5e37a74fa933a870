// Periodic compaction, as kine does: keep the last `retain` revisions of history so
// watches can resume after short disconnects; older watch positions get 410 Gone.
import type { Logger } from 'pino';
import type { Store } from './types.js';

export function startCompactor(store: Store, intervalMs: number, retain: number, log?: Logger): { stop(): void } {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const cur = await store.currentRevision();
      const target = cur - retain;
      if (target > (await store.compactedRevision())) {
        const removed = await store.compact(target);
        log?.debug({ revision: target, removed }, 'compacted store');
      }
    } catch (err) {
      log?.error({ err }, 'compaction failed');
    } finally {
      running = false;
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
