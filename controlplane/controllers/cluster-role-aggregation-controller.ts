// The ClusterRole aggregation controller (pkg/controller/clusterroleaggregation): a
// ClusterRole with an aggregationRule gets, as its rules, the union (in name order, each
// rule once) of the rules of every other ClusterRole one of its selectors matches.
// Also the bootstrap guard: a deleted bootstrap ClusterRole or ClusterRoleBinding
// (annotated autoupdate "true") is put back, as a restart's reconcile would.
import type { KubeObject } from '../../proto/meta.js';
import { canonicalJson } from '../../proto/canonical.js';
import { ApiError } from '../api/errors.js';
import { aggregatedRules } from '../authz/cluster-role-aggregation.js';
import {
  AUTOUPDATE_ANNOTATION,
  BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
  BOOTSTRAP_CLUSTER_ROLES,
  restoreBootstrapObject,
} from '../authz/bootstrap-policy.js';
import { RBAC_GROUP } from '../resources/rbac.js';
import type { ResourceDef } from '../resources/types.js';
import type { ControllerContext } from './context.js';
import { runWhenSynced, type Informer } from './informer.js';
import type { Controller } from './types.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 60_000;
const RESTORE_PREFIX = 'restore:';

class ClusterRoleAggregationController implements Controller {
  readonly name = 'clusterrole-aggregation-controller';
  private readonly queue = new WorkQueue();
  private readonly def: ResourceDef;
  private inf!: Informer<'ClusterRole'>;
  private crbInf!: Informer<'ClusterRoleBinding'>;
  private loop?: { stop(): void };

  constructor(private readonly ctx: ControllerContext) {
    this.def = ctx.def(RBAC_GROUP, 'v1', 'clusterroles');
  }

  async start(): Promise<void> {
    this.inf = this.ctx.informers.get(RBAC_GROUP, 'v1', 'clusterroles');
    this.crbInf = this.ctx.informers.get(RBAC_GROUP, 'v1', 'clusterrolebindings');
    // any change to any cluster role may change what an aggregated role selects
    const all = () => {
      for (const c of this.inf.list()) if (c.aggregationRule) this.queue.add(c.metadata.name!);
    };
    const restore = (resource: string, names: string[]) => (o: KubeObject) => {
      if (names.includes(o.metadata.name!) && o.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === 'true')
        this.queue.add(`${RESTORE_PREFIX}${resource}/${o.metadata.name}`);
    };
    const restoreRole = restore('clusterroles', BOOTSTRAP_CLUSTER_ROLES);
    this.inf.on({
      add: all,
      update: all,
      delete: (o) => {
        all();
        restoreRole(o);
      },
    });
    this.crbInf.on({ delete: restore('clusterrolebindings', BOOTSTRAP_CLUSTER_ROLE_BINDINGS) });
    this.loop = runWhenSynced({
      informers: [this.inf, this.crbInf],
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      onError: (key, err) =>
        this.ctx.log.warn({ err, clusterrole: key }, 'cluster role aggregation failed; will retry'),
      resyncMs: RESYNC_MS,
      resync: () => this.inf.list().filter((c) => c.aggregationRule),
      enqueue: (c) => this.queue.add(c.metadata.name!),
    });
  }

  stop(): void {
    this.loop?.stop();
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    if (key.startsWith(RESTORE_PREFIX)) {
      const [resource, name] = key.slice(RESTORE_PREFIX.length).split('/') as [
        'clusterroles' | 'clusterrolebindings',
        string,
      ];
      await restoreBootstrapObject(this.ctx.storage, resource, name);
      return;
    }
    const cr = this.inf.get(undefined, key);
    if (!cr?.aggregationRule) return;
    const rules = aggregatedRules(cr, this.inf.list());
    if (canonicalJson(rules) === canonicalJson(cr.rules ?? [])) return;
    try {
      await this.ctx.storage.guaranteedUpdate(
        this.def,
        undefined,
        key,
        { fieldManager: 'clusterrole-aggregation-controller' },
        (cur) => {
          if (cur.metadata.uid !== cr.metadata.uid || !cur.aggregationRule) return cur;
          cur.rules = aggregatedRules(cur, this.inf.list());
          return cur;
        },
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }
}

export function create(ctx: ControllerContext): Controller {
  return new ClusterRoleAggregationController(ctx);
}
