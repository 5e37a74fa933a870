// The ReplicationController manager (pkg/controller/replication): the ReplicaSet
// controller run over core/v1 ReplicationControllers — map selector, `v1`
// ReplicationController controller references on its pods, events from
// `replication-controller`, the same status (ReplicaFailure included).
import type { ControllerContext } from './context.js';
import { ReplicaSetController } from './replica-set-controller.js';
import { REPLICATION_CONTROLLER } from './replica-set/kind.js';
import type { Controller } from './types.js';

export function create(ctx: ControllerContext): Controller {
  return new ReplicaSetController(ctx, REPLICATION_CONTROLLER);
}
