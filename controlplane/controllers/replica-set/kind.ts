// The kinds the ReplicaSet controller logic manages (pkg/controller/replication wraps the
// ReplicaSet controller through a conversion): apps/v1 ReplicaSet with a LabelSelector and
// core/v1 ReplicationController with a plain label map. Everything kind-specific the
// controller needs — where the objects live, the controller reference it writes, its event
// source, how the selector reads — is here; the planners are shared.
import type { KubeObject } from '../../../proto/meta.js';
import { labelSelectorFromObject, type LabelRequirement, type LabelSelector } from '../../../proto/selectors.js';

export interface ReplicaKind {
  group: string;
  version: string;
  resource: string;
  kind: string;
  /** apiVersion of the controller ownerReference on its pods */
  apiVersion: string;
  /** the Controller's name and its event source component */
  controllerName: string;
  component: string;
  /** the log field naming the object */
  logKey: string;
  /** the object's selector as requirements; null when it cannot be parsed */
  selector(obj: KubeObject): LabelRequirement[] | null;
}

function parse(sel: unknown): LabelRequirement[] | null {
  try {
    return labelSelectorFromObject(sel as LabelSelector | null | undefined);
  } catch {
    return null;
  }
}

export const REPLICA_SET: ReplicaKind = {
  group: 'apps',
  version: 'v1',
  resource: 'replicasets',
  kind: 'ReplicaSet',
  apiVersion: 'apps/v1',
  controllerName: 'replica-set-controller',
  component: 'replicaset-controller',
  logKey: 'replicaset',
  selector: (rs) => parse(rs.spec?.selector),
};

/** Convert_v1_ReplicationControllerSpec_To_apps_ReplicaSetSpec: the map becomes matchLabels. */
export const REPLICATION_CONTROLLER: ReplicaKind = {
  group: '',
  version: 'v1',
  resource: 'replicationcontrollers',
  kind: 'ReplicationController',
  apiVersion: 'v1',
  controllerName: 'replication-controller',
  component: 'replication-controller',
  logKey: 'replicationcontroller',
  selector: (rc) => {
    const sel = rc.spec?.selector;
    if (sel !== undefined && sel !== null && (typeof sel !== 'object' || Array.isArray(sel))) return null;
    return parse({ matchLabels: sel ?? {} });
  },
};
