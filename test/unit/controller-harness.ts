// One controller in process over the real API write path (SQLite in memory), as the
// controller unit tests run it: seeded namespaces, an injectable clock, and `until`.
import { pino } from 'pino';
import { ApiStorage } from '../../controlplane/api/storage.js';
import { seedNamespaces } from '../../controlplane/bootstrap.js';
import { controllerContext, type ControllerContext } from '../../controlplane/controllers/context.js';
import type { Controller } from '../../controlplane/controllers/types.js';
import { SqliteStore } from '../../controlplane/store/sqlite.js';

export interface ControllerHarness {
  store: SqliteStore;
  storage: ApiStorage;
  ctx: ControllerContext;
  controller: Controller;
  stop(): Promise<void>;
}

/** start `create(ctx)` on a fresh store; `now` is the controller's clock (default: real time) */
export async function startController(
  create: (ctx: ControllerContext) => Controller,
  now?: () => number,
): Promise<ControllerHarness> {
  const store = new SqliteStore(':memory:');
  const storage = new ApiStorage(store);
  await seedNamespaces(storage);
  const ctx = controllerContext(storage, pino({ level: 'silent' }), now ? () => new Date(now()) : undefined);
  const controller = create(ctx);
  await controller.start();
  await ctx.informers.startAll();
  return {
    store,
    storage,
    ctx,
    controller,
    async stop() {
      controller.stop();
      ctx.informers.stopAll();
      await store.close();
    },
  };
}

/** poll until fn returns something truthy (or fail after ms) */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
