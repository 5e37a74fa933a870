// What the API layer needs to know about one kind: its REST names, discovery facts,
// defaulting, validation, table columns and selectable fields. One module per kind
// under controlplane/resources/ exports a ResourceDef; index.ts lists them all.
import type { KubeObject, StatusCause } from '../../proto/meta.js';
import type { FieldSchema } from '../../proto/schema/types.js';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string; // 'name' for the Name column, '' otherwise
  description: string;
  priority: 0 | 1; // 1 = only with -o wide
}

/** Cluster-wide settings the allocation hooks read (skiff-server's --service-cidr, --service-node-port-range). */
export interface ClusterNetwork {
  serviceCidr: string;
  nodePortRange: { min: number; max: number };
}

/** What an allocation hook gets besides the object: the kind's stored objects and the settings. */
export interface AllocationContext {
  /** every stored object of the kind, all namespaces (read under the kind's allocation lock) */
  list(): Promise<KubeObject[]>;
  network: ClusterNetwork;
  dryRun: boolean;
}

/** What a create-time admission hook may read: every stored object of another kind (all namespaces). */
export interface AdmissionContext {
  list(group: string, version: string, plural: string): Promise<KubeObject[]>;
  dryRun: boolean;
}

export type Subresource =
  | 'status'
  | 'scale'
  | 'binding'
  | 'log'
  | 'exec'
  | 'attach'
  | 'eviction'
  | 'portforward'
  | 'finalize'
  | 'ephemeralcontainers'
  | 'token'
  | 'approval';

export interface ResourceDef {
  group: string; // '' for core
  version: string; // 'v1'
  kind: string; // 'Pod'
  resource: string; // plural, 'pods'
  singular: string; // 'pod'
  namespaced: boolean;
  shortNames: string[];
  categories: string[]; // ['all'] for kubectl get all
  verbs: string[]; // discovery verbs
  subresources: Subresource[];
  /** true when a status subresource exists: then the main resource ignores status writes, /status ignores everything else */
  hasStatusSubresource: boolean;
  /** metadata.generation is kept and bumped on spec changes */
  hasGeneration: boolean;
  /** name of the kind's definition in proto/schema/defs.ts */
  schema: string;

  /** Fill Kubernetes defaults in place (runs on create and on every update, as apiserver's defaulting does on decode). */
  defaults?(obj: KubeObject): void;
  /** Reset fields the server owns on create (e.g. pod status.phase=Pending, namespace status Active). */
  prepareForCreate?(obj: KubeObject): void;
  /**
   * Mutating admission on main-resource updates that needs nothing but the object
   * (DefaultTolerationSeconds re-adds the not-ready/unreachable tolerations a replaced Pod
   * lacks, as kube-apiserver's plugin does on Update too): runs after defaulting.
   */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /**
   * Assign values the server hands out from a shared pool (Service ClusterIPs and NodePorts,
   * the service registry's BeginCreate/BeginUpdate). Runs after defaulting and before
   * validation on create (`old` undefined) and on main-resource updates; may throw ApiError.
   * Writes of a kind with this hook are serialised per store, from the listing through the
   * store write, so what `ctx.list()` shows is exactly what is taken.
   */
  allocate?(obj: KubeObject, old: KubeObject | undefined, ctx: AllocationContext): Promise<void>;
  /**
   * Mutating admission on create that reads other kinds (DefaultStorageClass fills a claim's
   * storageClassName): runs after defaulting and before validation; may throw ApiError.
   */
  admit?(obj: KubeObject, ctx: AdmissionContext): Promise<void>;
  /**
   * Validating admission on main-resource updates that reads other kinds (the PVC resize
   * check): runs after validation; throws ApiError (403 Forbidden) to refuse.
   */
  admitUpdate?(obj: KubeObject, old: KubeObject, ctx: AdmissionContext): Promise<void>;
  /** Validate a full object; on update `old` is the stored object (immutable fields). Field paths as apimachinery prints them. */
  validate(obj: KubeObject, old?: KubeObject): StatusCause[];
  /** Validate a status-only update (optional). */
  validateStatus?(obj: KubeObject, old: KubeObject): StatusCause[];

  /** Server-side table for kubectl get (kube-apiserver printers' columns, after the implicit Name column? no: include Name). */
  columns: TableColumn[];
  /** Cells for one row, matching `columns`. `now` is Date.now() for Age cells. */
  row(obj: KubeObject, now: number): unknown[];

  /** Finalizers the first delete adds before marking the object (a CRD's customresourcecleanup, as its REST Delete does). */
  deleteFinalizers?: string[];
  /** Custom resources served from a CustomResourceDefinition (controlplane/crd); absent for built-in kinds. */
  custom?: CustomResourceHooks;

  /** Another served version of a stored kind (autoscaling/v1 HorizontalPodAutoscaler): REST converts through the storage version's def (controlplane/api/converted-storage.ts). */
  conversion?: VersionConversion;

  /** Extra field selector labels beyond metadata.name / metadata.namespace, e.g. 'spec.nodeName'. Returns the value as a string. */
  fields?: Record<string, (obj: KubeObject) => string | undefined>;
}

/** How a served version maps onto the storage version of its kind. */
export interface VersionConversion {
  /** the storage version's definition */
  storage(): ResourceDef;
  /** a body of this version in the storage version's form */
  toStorage(obj: KubeObject): KubeObject;
  /** a stored object as this version shows it */
  fromStorage(obj: KubeObject): KubeObject;
}

/** What the generic API code asks of a custom resource kind beyond a built-in's hooks. */
export interface CustomResourceHooks {
  /** name of the CustomResourceDefinition serving the kind */
  crd: string;
  /** a stored object as this version shows it (conversion None: the apiVersion is rewritten) */
  fromStorage(obj: KubeObject): void;
  /** fields of a request body the CRD's schema prunes (for fieldValidation Strict/Warn) */
  unknownFields(obj: KubeObject): string[];
  /** the Warning every request to a deprecated version gets (`stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab`) */
  deprecationWarning?: string;
  /** the merge structure of server-side apply (list-type map keys and sets from the CRD schema) */
  applySchema?: FieldSchema;
  /** the scale subresource's paths (`.spec.replicas`, `.status.replicas`, `.status.selector`) */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
}
