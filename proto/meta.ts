// Kubernetes object metadata as stored and served. Field names are Kubernetes' own.
// Map of the code base: ARCHITECTURE.md, "The parts".

import type { Kind, ObjectOf } from './api/object.js';
import type { ResourceKindMap } from './api/types.gen.js';

export type { ObjectMeta, OwnerReference } from './api/object.js';
import type { ObjectMeta } from './api/object.js';

/** Any Kubernetes object, its `spec`/`status` unchecked: kind-specific code narrows them itself. */
export interface AnyObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // biome-ignore lint/suspicious/noExplicitAny: an object of any kind; typed code uses KubeObject<K> (the generated interfaces)
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: an object of any kind; typed code uses KubeObject<K> (the generated interfaces)
  status?: any;
  // biome-ignore lint/suspicious/noExplicitAny: an object of any kind; typed code uses KubeObject<K> (the generated interfaces)
  [k: string]: any;
}

/**
 * A Kubernetes object: `KubeObject` is any object (AnyObject); `KubeObject<'Pod'>` is a
 * stored Pod with its generated, defaulted type (ObjectOf in proto/api/object.ts).
 */
export type KubeObject<K extends Kind | '*' = '*'> = (Objects & { '*': AnyObject })[K];
type Objects = { [K in Kind]: ObjectOf<K> };

/** the kind of a group resource (`'deployments.apps'`, core's `'pods'`); '*' when it has no generated interface */
export type KindOfResource<GR extends string> = GR extends keyof ResourceKindMap ? ResourceKindMap[GR] : '*';
/** the kind of group `G`'s resource `P` (`KindOf<'apps', 'deployments'>` is 'Deployment') */
export type KindOf<G extends string, P extends string> = KindOfResource<G extends '' ? P : `${P}.${G}`>;
/** the kind a resource definition is typed for: its `kind` when that is a literal kind with an interface, else '*' */
export type KindOfDef<D extends { kind: string }> = string extends D['kind']
  ? '*'
  : D['kind'] extends Kind
    ? D['kind']
    : '*';
/** the object a resource definition's reads and writes return */
export type ObjectOfDef<D extends { kind: string }> = KubeObject<KindOfDef<D>>;

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: ListMeta;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
