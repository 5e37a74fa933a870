// status.loadBalancer.ingress as skiff publishes it, for the two controllers that do: ServiceLB
// (service-lb-controller.ts, a LoadBalancer Service's node addresses) and the address half of
// the Ingress controller (ingress-status-controller.ts). One status write for both.
import type { ObjectOfDef } from '../../proto/meta.js';
import type { ApiStorage } from '../api/storage.js';
import { ApiError } from '../api/errors.js';
import type { DefOf } from './context.js';

/** the resources whose status.loadBalancer skiff writes */
type LoadBalancedDef = DefOf<'', 'services'> | DefOf<'networking.k8s.io', 'ingresses'>;

/**
 * Writes `ingress` as `obj`'s status.loadBalancer.ingress (an empty list as `loadBalancer: {}`),
 * the rest of the status kept, through the status subresource with `fieldManager`. An object
 * replaced since it was read (another uid: `<what> was replaced`) or gone is left alone: the
 * 409 or 404 is not an error, the next sync starts from what the cache shows then.
 */
export async function writeLoadBalancerIngress(
  storage: ApiStorage,
  def: LoadBalancedDef,
  obj: ObjectOfDef<LoadBalancedDef>,
  ingress: { ip: string; ipMode?: string }[],
  fieldManager: string,
  what: string,
): Promise<void> {
  try {
    await storage.guaranteedUpdate(
      def,
      obj.metadata.namespace,
      obj.metadata.name,
      { fieldManager },
      (cur) => {
        if (cur.metadata.uid !== obj.metadata.uid) throw new ApiError(409, 'Conflict', `${what} was replaced`);
        cur.status = { ...(cur.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} };
        return cur;
      },
      'status',
    );
  } catch (e) {
    if (e instanceof ApiError && (e.code === 404 || e.code === 409)) return;
    throw e;
  }
}
