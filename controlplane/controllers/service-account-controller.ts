// The ServiceAccount controller (pkg/controller/serviceaccount/serviceaccounts_controller.go):
// every active namespace has a `default` ServiceAccount, made again if deleted.
import type { ControllerContext } from './context.js';
import { namespaceObjectController } from './namespace-object.js';
import type { Controller } from './types.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export { namespaceActive } from './namespace-object.js';

export function create(ctx: ControllerContext): Controller {
  const name = 'serviceaccount-controller';
  return namespaceObjectController(ctx, {
    name,
    group: '',
    plural: 'serviceaccounts',
    objectName: DEFAULT_SERVICE_ACCOUNT,
    wakeOnAddUpdate: false,
    what: 'default service account',
    async ensure(namespace, cur) {
      if (cur) return;
      await ctx.storage.create(
        ctx.def('', 'v1', 'serviceaccounts'),
        namespace,
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } },
        { fieldManager: name },
      );
    },
  });
}
