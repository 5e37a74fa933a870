// The writes behind a workload's history (history.realHistory): create a revision (renaming
// it on a name collision), raise its Revision, delete, adopt, release and label it — all
// through the one API write path. Reads come from the shared ControllerRevision informer.
import type { KubeObject } from '../../../proto/meta.js';
import { ApiError } from '../../api/errors.js';
import type { ControllerContext, DefOf } from '../context.js';
import type { Informer } from '../informer.js';
import {
  controllerOf,
  controllerRef,
  controllerRevisionName,
  hashControllerRevision,
  sameData,
} from './controller-history.js';

function code(e: unknown): number | undefined {
  return e instanceof ApiError ? e.code : undefined;
}

export class HistoryClient {
  readonly def: DefOf<'apps', 'controllerrevisions'>;
  readonly informer: Informer<'ControllerRevision'>;

  constructor(private readonly ctx: ControllerContext) {
    this.def = ctx.def('apps', 'v1', 'controllerrevisions');
    this.informer = ctx.informers.get('apps', 'v1', 'controllerrevisions');
  }

  /** every revision of the namespace, from the cache */
  list(namespace: string | undefined): KubeObject[] {
    return this.informer.list(namespace);
  }

  async create(namespace: string | undefined, cr: KubeObject): Promise<KubeObject> {
    return this.ctx.storage.create(this.def, namespace, cr);
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    return this.ctx.storage.tryGet(this.def, namespace, name);
  }

  /**
   * CreateControllerRevision: on AlreadyExists, an existing revision with the same data is
   * the one wanted; another one means a hash collision, so count it and try the next name.
   * `preferredName` is tried first (then the hashed names). Returns the revision and the
   * (possibly raised) collision count.
   */
  async createWithCollisions(
    parent: KubeObject,
    cr: KubeObject,
    collisionCount: number,
    preferredName?: string,
  ): Promise<{ revision: KubeObject; collisionCount: number }> {
    let count = collisionCount;
    const hashed = () => controllerRevisionName(parent.metadata.name!, hashControllerRevision(cr.data, count));
    let preferred = preferredName;
    for (let attempt = 0; attempt < 100; attempt++) {
      const name = preferred ?? hashed();
      try {
        return {
          revision: await this.create(parent.metadata.namespace, { ...cr, metadata: { ...cr.metadata, name } }),
          collisionCount: count,
        };
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
        const exists = await this.get(parent.metadata.namespace, name);
        if (!exists) continue; // deleted meanwhile: try the same name again
        if (sameData(exists.data, cr.data)) return { revision: exists, collisionCount: count };
        if (preferred) preferred = undefined;
        else count++;
      }
    }
    throw new Error(`cannot find a free name for a revision of ${parent.metadata.namespace}/${parent.metadata.name}`);
  }

  /** UpdateControllerRevision: set its Revision (idempotent, retried on conflict). */
  async setRevision(cr: KubeObject, revision: number): Promise<KubeObject> {
    if (Number(cr.revision) === revision) return cr;
    return this.ctx.storage.guaranteedUpdate(this.def, cr.metadata.namespace, cr.metadata.name!, {}, (cur) => {
      if (cur.metadata.uid !== cr.metadata.uid)
        throw new ApiError(409, 'Conflict', `controllerrevision ${cr.metadata.name} was replaced`);
      cur.revision = revision;
      return cur;
    });
  }

  /** add a label (the DaemonSet controller's missing controller-revision-hash) */
  async label(cr: KubeObject, key: string, value: string): Promise<KubeObject> {
    return this.ctx.storage.guaranteedUpdate(this.def, cr.metadata.namespace, cr.metadata.name!, {}, (cur) => {
      cur.metadata.labels = { ...(cur.metadata.labels ?? {}), [key]: value };
      return cur;
    });
  }

  /** DeleteControllerRevision (a revision already gone is fine) */
  async delete(cr: KubeObject): Promise<void> {
    try {
      await this.ctx.storage.delete(this.def, cr.metadata.namespace, cr.metadata.name!, {
        preconditions: { uid: cr.metadata.uid },
      });
    } catch (e) {
      if (code(e) !== 404 && code(e) !== 409) throw e;
    }
  }

  /** AdoptControllerRevision: add the parent's controller reference to an orphan. */
  async adopt(parent: KubeObject, kind: 'DaemonSet' | 'StatefulSet', cr: KubeObject): Promise<KubeObject | undefined> {
    try {
      return await this.ctx.storage.guaranteedUpdate(this.def, cr.metadata.namespace, cr.metadata.name!, {}, (cur) => {
        if (cur.metadata.uid !== cr.metadata.uid) throw new ApiError(404, 'NotFound', 'revision was replaced');
        const owner = controllerOf(cur);
        if (owner)
          throw new ApiError(409, 'Conflict', `attempt to adopt revision owned by ${owner.kind}/${owner.name}`);
        cur.metadata.ownerReferences = [...(cur.metadata.ownerReferences ?? []), controllerRef(parent, kind)];
        return cur;
      });
    } catch (e) {
      if (code(e) === 404 || code(e) === 409) return undefined;
      throw e;
    }
  }

  /** ReleaseControllerRevision: drop the parent's owner reference (gone or not ours: ignored). */
  async release(parent: KubeObject, cr: KubeObject): Promise<void> {
    try {
      await this.ctx.storage.guaranteedUpdate(this.def, cr.metadata.namespace, cr.metadata.name!, {}, (cur) => {
        if (cur.metadata.uid !== cr.metadata.uid) throw new ApiError(404, 'NotFound', 'revision was replaced');
        const refs = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== parent.metadata.uid);
        if (refs.length) cur.metadata.ownerReferences = refs;
        else delete cur.metadata.ownerReferences;
        return cur;
      });
    } catch (e) {
      if (code(e) !== 404 && code(e) !== 409) throw e;
    }
  }
}
