// The CRD controllers of apiextensions-apiserver in one reconcile loop: naming
// (acceptedNames, NamesAccepted), establishing (Established), serving (the registry the
// REST, discovery and OpenAPI code read) and finalizing (a deleted CRD's objects are
// deleted, then the customresourcecleanup finalizer is removed and the CRD goes).
import type { Logger } from 'pino';
import type { KubeObject } from '../../proto/meta.js';
import { ApiError } from '../api/errors.js';
import { rfc3339, type ApiStorage } from '../api/storage.js';
import { Informer } from '../controllers/informer.js';
import { WorkQueue } from '../controllers/work-queue.js';
import type { ResourceDef } from '../resources/types.js';
import { findCondition } from '../../proto/api/conditions.js';
import { approvalCondition, calculateNames, setCondition, type Condition } from './crd-naming.js';
import { CLEANUP_FINALIZER, isEstablished } from './crd-validation.js';
import { customResourceDefinition } from './crd-resource.js';
import { customResourceDefs } from './custom-resource-def.js';
import { serveCrd, unserveCrd } from './registry.js';

const RETRY_MS = 500;

export interface CrdController {
  stop(): void;
}

function sameConditions(a: Condition | undefined, b: Condition): boolean {
  return !!a && a.status === b.status && a.reason === b.reason && a.message === b.message;
}

/** a def addressing the CRD's stored objects whatever names were accepted (plural and group never change) */
function storageDef(crd: KubeObject): ResourceDef | undefined {
  const spec = crd.spec as { names?: Record<string, unknown> };
  const withNames: KubeObject = { ...crd, status: { ...(crd.status ?? {}), acceptedNames: spec.names ?? {} } };
  const storageVersion = (crd.spec.versions as { name: string; storage?: boolean }[]).find((v) => v.storage)?.name;
  const forced: KubeObject = {
    ...withNames,
    spec: {
      ...crd.spec,
      versions: (crd.spec.versions as Record<string, unknown>[]).map((v) => ({ ...v, served: true })),
    },
  };
  const defs = customResourceDefs(forced, () => true);
  return (defs.find((d) => d.def.version === storageVersion) ?? defs[0])?.def;
}

export async function startCrdController(
  storage: ApiStorage,
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<CrdController> {
  const informer = new Informer(storage, customResourceDefinition, log);
  const queue = new WorkQueue(100, 5_000);
  const enqueueGroup = (group: unknown) => {
    for (const c of informer.list()) if (c.spec?.group === group) queue.add(c.metadata.name!);
  };
  informer.on({
    add: (o) => queue.add(o.metadata.name!),
    update: (_a, b) => queue.add(b.metadata.name!),
    delete: (o) => {
      queue.add(o.metadata.name!);
      enqueueGroup(o.spec?.group);
    },
  });

  async function writeStatus(name: string, mutate: (status: Record<string, unknown>) => void): Promise<void> {
    await storage.guaranteedUpdate(
      customResourceDefinition,
      undefined,
      name,
      {},
      (cur) => {
        const status = { ...(cur.status ?? {}) };
        mutate(status);
        cur.status = status;
        return cur;
      },
      'status',
    );
  }

  async function finalize(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name!;
    if (isEstablished(crd)) serveCrd(crd); // still served for reads and deletes, creates refused (terminating)
    const ts = rfc3339(now());
    const term = (reason: string, message: string): Condition => ({
      type: 'Terminating',
      status: 'True',
      reason,
      message,
    });
    if (!(crd.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER)) return;
    if (
      !sameConditions(
        findCondition<Condition>(crd.status?.conditions, 'Terminating'),
        term('InstanceDeletionInProgress', 'CustomResource deletion is in progress'),
      )
    ) {
      await writeStatus(name, (s) => {
        s.conditions = setCondition(
          (s.conditions as Condition[] | undefined) ?? [],
          term('InstanceDeletionInProgress', 'CustomResource deletion is in progress'),
          ts,
        );
      });
    }
    const def = storageDef(crd);
    if (def) {
      const items = (await storage.list(def, undefined)).items;
      for (const o of items) {
        if (o.metadata.deletionTimestamp) continue;
        try {
          await storage.delete(def, o.metadata.namespace, o.metadata.name!, {});
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) throw e;
        }
      }
      if ((await storage.list(def, undefined, { limit: 1 })).items.length) {
        queue.addAfter(name, RETRY_MS); // objects with finalizers of their own: wait for them
        return;
      }
    }
    await writeStatus(name, (s) => {
      s.conditions = setCondition(
        (s.conditions as Condition[] | undefined) ?? [],
        term('InstanceDeletionCompleted', 'removed all instances'),
        ts,
      );
    });
    await storage.guaranteedUpdate(customResourceDefinition, undefined, name, {}, (cur) => {
      cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER);
      return cur;
    });
  }

  async function sync(name: string): Promise<void> {
    const crd = informer.get(undefined, name);
    if (!crd) {
      unserveCrd(name);
      return;
    }
    if (crd.metadata.deletionTimestamp) return finalize(crd);
    const r = calculateNames(crd, informer.list());
    const approval = approvalCondition(crd);
    const changed =
      JSON.stringify(r.acceptedNames) !== JSON.stringify(crd.status?.acceptedNames ?? {}) ||
      (approval !== undefined &&
        !sameConditions(findCondition<Condition>(crd.status?.conditions, approval.type), approval)) ||
      !sameConditions(findCondition<Condition>(crd.status?.conditions, 'NamesAccepted'), r.namesAccepted) ||
      !sameConditions(findCondition<Condition>(crd.status?.conditions, 'Established'), r.established);
    if (changed) {
      const ts = rfc3339(now());
      await writeStatus(name, (s) => {
        s.acceptedNames = r.acceptedNames;
        let conds = (s.conditions as Condition[] | undefined) ?? [];
        conds = setCondition(conds, r.namesAccepted, ts);
        conds = setCondition(conds, r.established, ts);
        if (approval) conds = setCondition(conds, approval, ts);
        s.conditions = conds;
      });
      return; // the informer brings the written status back: serve from it
    }
    if (isEstablished(crd)) serveCrd(crd);
    else unserveCrd(name);
  }

  await informer.start();
  // serve what is Established before the API answers its first request
  for (const c of informer.list()) {
    try {
      await sync(c.metadata.name!);
    } catch (err) {
      log.warn({ err, crd: c.metadata.name }, 'crd sync failed');
    }
  }
  queue.run(async (key) => {
    try {
      await sync(key);
      queue.forget(key);
    } catch (err) {
      log.warn({ err, crd: key }, 'crd sync failed');
      queue.addRateLimited(key);
    }
  }, 1);
  return {
    stop() {
      informer.stop();
      queue.stop();
      // the registry is the process's: a stopped server's CRDs are not served by the next one
      for (const c of informer.list()) unserveCrd(c.metadata.name!);
    },
  };
}
