// The parts of Kubernetes objects the dashboard reads: every field optional, as the API
// may leave any of them out. Shared by the pure logic (tested in test/unit) and the views.
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export type ResourceList = Record<string, string | undefined>;

export interface Container {
  name: string;
  image?: string;
  resources?: { requests?: ResourceList; limits?: ResourceList };
  ports?: { containerPort?: number; protocol?: string; name?: string }[];
}

export interface ContainerState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; exitCode?: number; message?: string; finishedAt?: string };
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: Container[]; initContainers?: Container[]; overhead?: ResourceList };
  status?: {
    phase?: string;
    podIP?: string;
    reason?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface Node extends KubeObject {
  spec?: { unschedulable?: boolean; taints?: { key?: string; effect?: string }[] };
  status?: {
    allocatable?: ResourceList;
    capacity?: ResourceList;
    conditions?: Condition[];
    addresses?: { type?: string; address?: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string };
  };
}

export interface PodTemplate {
  metadata?: ObjectMeta;
  spec?: Pod['spec'];
}

export interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    completions?: number;
    parallelism?: number;
    selector?: unknown;
    template?: PodTemplate;
    paused?: boolean;
  };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    observedGeneration?: number;
    currentNumberScheduled?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    currentReplicas?: number;
    succeeded?: number;
    failed?: number;
    active?: number;
    conditions?: Condition[];
  };
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: { name?: string; port?: number; targetPort?: number | string; protocol?: string; nodePort?: number }[];
    selector?: Record<string, string>;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface Endpoints extends KubeObject {
  subsets?: {
    addresses?: { ip?: string; nodeName?: string; targetRef?: { name?: string } }[];
    notReadyAddresses?: { ip?: string }[];
    ports?: { port?: number; name?: string }[];
  }[];
}

export interface KubeEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string };
  source?: { component?: string; host?: string };
}

export interface NodeMetrics {
  metadata: ObjectMeta;
  usage?: ResourceList;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | Status;
}

export interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  metadata?: { resourceVersion?: string };
}

export interface List<T> {
  metadata?: { resourceVersion?: string };
  items?: T[];
}
