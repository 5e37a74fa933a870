import { describe, expect, it } from 'vitest';
import { checkFields, resolve, schemaFor } from '../../proto/schema/check-fields.js';
import { defs } from '../../proto/schema/defs.js';
import type { FieldSchema } from '../../proto/schema/types.js';

// ---- helpers ----------------------------------------------------------------------

/** The schema at a dotted path below a kind; `[]` steps into list items / map values. */
function at(kind: string, path: string): FieldSchema {
  let s = schemaFor(kind);
  if (!s) throw new Error(`no schema for ${kind}`);
  for (const part of path.split('.')) {
    const r = resolve(s);
    if (part === '[]') {
      if (r.t === 'list') s = r.items;
      else if (r.t === 'map') s = r.values;
      else throw new Error(`${path}: ${part} on ${r.t}`);
      continue;
    }
    if (r.t !== 'object' || !Object.hasOwn(r.fields, part)) throw new Error(`${kind}.${path}: no field ${part}`);
    s = r.fields[part]!;
  }
  return s;
}

function listAt(kind: string, path: string) {
  const s = resolve(at(kind, path));
  if (s.t !== 'list') throw new Error(`${kind}.${path} is ${s.t}, not a list`);
  return s;
}

function expectClean(obj: unknown, kind: string) {
  expect(checkFields(obj, kind)).toEqual({ unknown: [], typeErrors: [] });
}

const meta = (name: string, ns = 'demo') => ({
  name,
  namespace: ns,
  labels: { app: name, 'app.kubernetes.io/part-of': 'shop' },
  annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' },
});

const fullMeta = {
  name: 'web-7d4b9c',
  generateName: 'web-',
  namespace: 'demo',
  uid: '0b9c1f8e-0000-4000-8000-000000000001',
  resourceVersion: '12345',
  generation: 3,
  creationTimestamp: '2025-01-01T00:00:00Z',
  deletionTimestamp: null,
  deletionGracePeriodSeconds: 30,
  labels: { app: 'web' },
  annotations: { note: 'x' },
  ownerReferences: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-7d4b9c',
      uid: 'abc',
      controller: true,
      blockOwnerDeletion: true,
    },
  ],
  finalizers: ['kubernetes.io/pv-protection'],
  managedFields: [
    {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: '2025-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
    },
  ],
};

const podSpec = {
  serviceAccountName: 'web',
  automountServiceAccountToken: false,
  terminationGracePeriodSeconds: 30,
  dnsPolicy: 'ClusterFirst',
  restartPolicy: 'Always',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  priorityClassName: 'high',
  enableServiceLinks: false,
  hostAliases: [{ ip: '10.0.0.9', hostnames: ['db.local'] }],
  imagePullSecrets: [{ name: 'regcred' }],
  securityContext: {
    runAsUser: 1000,
    runAsGroup: 3000,
    runAsNonRoot: true,
    fsGroup: 2000,
    fsGroupChangePolicy: 'OnRootMismatch',
    supplementalGroups: [4000],
    seccompProfile: { type: 'RuntimeDefault' },
    sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }],
  },
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }],
      },
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 50, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
      ],
    },
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
            topologyKey: 'kubernetes.io/hostname',
            namespaces: ['demo'],
          },
        },
      ],
    },
  },
  tolerations: [
    { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ],
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: { app: 'web' } },
    },
  ],
  initContainers: [
    {
      name: 'migrate',
      image: 'busybox:1.36',
      command: ['sh', '-c'],
      args: ['echo migrating'],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    },
  ],
  containers: [
    {
      name: 'web',
      image: 'nginx:1.27',
      imagePullPolicy: 'IfNotPresent',
      workingDir: '/usr/share/nginx',
      ports: [
        { name: 'http', containerPort: 80, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9090, hostPort: 19090 },
      ],
      env: [
        { name: 'MODE', value: 'production' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name', apiVersion: 'v1' } } },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: false } } },
        { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'color' } } },
        {
          name: 'MEM_LIMIT',
          valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } },
        },
      ],
      envFrom: [
        { configMapRef: { name: 'web-config' } },
        { prefix: 'S_', secretRef: { name: 'web-secret', optional: true } },
      ],
      resources: {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: 1, memory: '256Mi', 'ephemeral-storage': '1Gi' },
      },
      livenessProbe: {
        httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
        initialDelaySeconds: 10,
        periodSeconds: 10,
        timeoutSeconds: 2,
        failureThreshold: 3,
        successThreshold: 1,
      },
      readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
      startupProbe: { exec: { command: ['cat', '/tmp/ready'] }, failureThreshold: 30, periodSeconds: 2 },
      lifecycle: {
        postStart: { exec: { command: ['sh', '-c', 'echo started'] } },
        preStop: { sleep: { seconds: 5 } },
      },
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'config', mountPath: '/etc/nginx/conf.d', readOnly: true },
        { name: 'cache', mountPath: '/var/cache/nginx', subPath: 'nginx' },
      ],
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'FallbackToLogsOnError',
      stdin: false,
      tty: false,
    },
    {
      name: 'sidecar',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'sleep infinity'],
      resources: { requests: { cpu: 0.05 } },
      readinessProbe: { grpc: { port: 9000, service: 'health' } },
    },
  ],
  volumes: [
    { name: 'data', persistentVolumeClaim: { claimName: 'web-data' } },
    {
      name: 'config',
      configMap: { name: 'web-config', defaultMode: 0o644, items: [{ key: 'nginx.conf', path: 'default.conf' }] },
    },
    { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'tls', secret: { secretName: 'web-tls', optional: true } },
    { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
    {
      name: 'combined',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600, audience: 'api' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    { name: 'share', nfs: { server: 'nfs.local', path: '/exports', readOnly: true } },
    {
      name: 'csi',
      csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'x' } },
    },
    {
      name: 'scratch',
      ephemeral: {
        volumeClaimTemplate: {
          metadata: { labels: { type: 'scratch' } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'local-path',
            resources: { requests: { storage: '1Gi' } },
          },
        },
      },
    },
  ],
};

// ---- the manifests ------------------------------------------------------------------

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta('web'),
  spec: {
    replicas: 3,
    revisionHistoryLimit: 5,
    progressDeadlineSeconds: 600,
    minReadySeconds: 5,
    paused: false,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: { metadata: { labels: { app: 'web' }, annotations: { 'prometheus.io/scrape': 'true' } }, spec: podSpec },
  },
  status: {
    observedGeneration: 3,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    conditions: [
      {
        type: 'Available',
        status: 'True',
        lastUpdateTime: '2025-01-01T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'MinimumReplicasAvailable',
        message: 'Deployment has minimum availability.',
      },
    ],
  },
};

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: fullMeta,
  spec: { ...podSpec, nodeName: 'node-1', hostname: 'web-0', subdomain: 'web', schedulerName: 'default-scheduler' },
  status: {
    phase: 'Running',
    hostIP: '192.168.1.10',
    hostIPs: [{ ip: '192.168.1.10' }],
    podIP: '10.244.1.5',
    podIPs: [{ ip: '10.244.1.5' }],
    qosClass: 'Burstable',
    startTime: '2025-01-01T00:00:00Z',
    conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:00:05Z' }],
    containerStatuses: [
      {
        name: 'web',
        image: 'nginx:1.27',
        imageID: 'docker.io/library/nginx@sha256:abc',
        containerID: 'containerd://123',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: '2025-01-01T00:00:01Z' } },
        lastState: {
          terminated: {
            exitCode: 137,
            reason: 'OOMKilled',
            signal: 9,
            startedAt: null,
            finishedAt: '2025-01-01T00:00:00Z',
            containerID: 'containerd://122',
          },
        },
      },
      {
        name: 'sidecar',
        image: 'busybox:1.36',
        imageID: '',
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } },
      },
    ],
  },
};

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta('web'),
  spec: {
    type: 'NodePort',
    selector: { app: 'web' },
    clusterIP: '10.96.0.20',
    clusterIPs: ['10.96.0.20'],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    externalTrafficPolicy: 'Local',
    internalTrafficPolicy: 'Cluster',
    ports: [
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 },
      { name: 'metrics', port: 9090, targetPort: 9090, appProtocol: 'http' },
    ],
  },
  status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] } },
};

const configMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: meta('web-config'),
  data: { color: 'blue', 'nginx.conf': 'server { listen 80; }\n' },
  binaryData: { 'logo.png': 'iVBORw0KGgo=' },
  immutable: false,
};

const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: meta('db'),
  type: 'Opaque',
  data: { password: 'aHVudGVyMg==' },
  stringData: { username: 'admin' },
  immutable: true,
};

const statefulSet = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: meta('db'),
  spec: {
    serviceName: 'db',
    replicas: 3,
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: { app: 'db' } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    ordinals: { start: 0 },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: {
        containers: [
          {
            name: 'postgres',
            image: 'postgres:17',
            ports: [{ containerPort: 5432, name: 'pg' }],
            volumeMounts: [{ name: 'pgdata', mountPath: '/var/lib/postgresql/data' }],
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'pgdata' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'local-path',
          volumeMode: 'Filesystem',
          resources: { requests: { storage: '10Gi' } },
        },
      },
    ],
  },
  status: {
    replicas: 3,
    readyReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    currentRevision: 'db-1',
    updateRevision: 'db-1',
    collisionCount: 0,
    observedGeneration: 1,
  },
};

const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: meta('migrate'),
  spec: {
    completions: 5,
    parallelism: 2,
    backoffLimit: 4,
    activeDeadlineSeconds: 600,
    ttlSecondsAfterFinished: 100,
    completionMode: 'Indexed',
    suspend: false,
    podFailurePolicy: {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    },
    template: {
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', 'exit 0'] }],
      },
    },
  },
  status: {
    active: 1,
    succeeded: 2,
    failed: 0,
    ready: 1,
    startTime: '2025-01-01T00:00:00Z',
    completedIndexes: '0-1',
    uncountedTerminatedPods: { succeeded: [], failed: [] },
    conditions: [
      {
        type: 'Complete',
        status: 'True',
        lastProbeTime: '2025-01-01T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ],
  },
};

const cronJob = {
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: meta('backup'),
  spec: {
    schedule: '*/5 * * * *',
    timeZone: 'Etc/UTC',
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 60,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    suspend: false,
    jobTemplate: {
      metadata: { labels: { job: 'backup' } },
      spec: {
        backoffLimit: 1,
        template: {
          spec: { restartPolicy: 'OnFailure', containers: [{ name: 'backup', image: 'alpine:3', args: ['backup'] }] },
        },
      },
    },
  },
  status: {
    active: [
      { kind: 'Job', namespace: 'demo', name: 'backup-1', uid: 'u', apiVersion: 'batch/v1', resourceVersion: '1' },
    ],
    lastScheduleTime: '2025-01-01T00:05:00Z',
    lastSuccessfulTime: '2025-01-01T00:00:00Z',
  },
};

const daemonSet = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: meta('node-exporter', 'monitoring'),
  spec: {
    selector: { matchLabels: { app: 'node-exporter' } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    minReadySeconds: 0,
    revisionHistoryLimit: 10,
    template: {
      metadata: { labels: { app: 'node-exporter' } },
      spec: {
        hostNetwork: true,
        hostPID: true,
        tolerations: [{ operator: 'Exists' }],
        containers: [
          {
            name: 'node-exporter',
            image: 'prom/node-exporter:v1.8.2',
            args: ['--path.rootfs=/host'],
            ports: [{ containerPort: 9100, hostPort: 9100, name: 'metrics' }],
            volumeMounts: [{ name: 'root', mountPath: '/host', readOnly: true, mountPropagation: 'HostToContainer' }],
          },
        ],
        volumes: [{ name: 'root', hostPath: { path: '/' } }],
      },
    },
  },
  status: {
    currentNumberScheduled: 2,
    numberMisscheduled: 0,
    desiredNumberScheduled: 2,
    numberReady: 2,
    updatedNumberScheduled: 2,
    numberAvailable: 2,
    observedGeneration: 1,
  },
};

const node = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1', 'kubernetes.io/os': 'linux' } },
  spec: {
    podCIDR: '10.244.1.0/24',
    podCIDRs: ['10.244.1.0/24'],
    providerID: 'skiff://node-1',
    unschedulable: false,
    taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: '2025-01-01T00:00:00Z' }],
  },
  status: {
    capacity: { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' },
    allocatable: { cpu: '3800m', memory: '7.5Gi', pods: 110 },
    phase: 'Running',
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        lastHeartbeatTime: '2025-01-01T00:00:00Z',
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
      },
    ],
    addresses: [
      { type: 'InternalIP', address: '192.168.1.10' },
      { type: 'Hostname', address: 'node-1' },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: 'm',
      systemUUID: 's',
      bootID: 'b',
      kernelVersion: '6.8.0',
      osImage: 'Ubuntu 24.04',
      containerRuntimeVersion: 'containerd://1.7.0',
      kubeletVersion: 'v1.32.0',
      kubeProxyVersion: 'v1.32.0',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    images: [{ names: ['docker.io/library/nginx@sha256:abc', 'docker.io/library/nginx:1.27'], sizeBytes: 73000000 }],
    volumesInUse: [],
    volumesAttached: [],
    runtimeHandlers: [{ name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
  },
};

const event = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web-7d4b9c.17a', namespace: 'demo' },
  involvedObject: {
    kind: 'Pod',
    namespace: 'demo',
    name: 'web-7d4b9c',
    uid: 'u',
    apiVersion: 'v1',
    resourceVersion: '5',
    fieldPath: 'spec.containers{web}',
  },
  reason: 'Pulled',
  message: 'Successfully pulled image "nginx:1.27"',
  source: { component: 'kubelet', host: 'node-1' },
  firstTimestamp: '2025-01-01T00:00:00Z',
  lastTimestamp: '2025-01-01T00:01:00Z',
  count: 2,
  type: 'Normal',
  eventTime: null,
  series: { count: 2, lastObservedTime: '2025-01-01T00:01:00.000000Z' },
  action: 'Pulling',
  related: { kind: 'Node', name: 'node-1' },
  reportingComponent: 'kubelet',
  reportingInstance: 'node-1',
};

const lease = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: 'node-1',
    namespace: 'kube-node-lease',
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'n1' }],
  },
  spec: {
    holderIdentity: 'node-1',
    leaseDurationSeconds: 40,
    acquireTime: '2025-01-01T00:00:00.000000Z',
    renewTime: '2025-01-01T00:00:30.123456Z',
    leaseTransitions: 0,
  },
};

const endpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-abc12', namespace: 'demo', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: [
    {
      addresses: ['10.244.1.5'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-1',
      zone: 'a',
      hostname: 'web-0',
      targetRef: { kind: 'Pod', namespace: 'demo', name: 'web-7d4b9c', uid: 'u' },
      hints: { forZones: [{ name: 'a' }] },
    },
  ],
  ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }],
};

// ---- tests ---------------------------------------------------------------------------

describe('schema defs', () => {
  it('every ref points at an existing definition', () => {
    const missing: string[] = [];
    const visit = (s: FieldSchema, where: string) => {
      switch (s.t) {
        case 'ref':
          if (!Object.hasOwn(defs, s.name)) missing.push(`${where} -> ${s.name}`);
          return;
        case 'object':
          for (const [k, v] of Object.entries(s.fields)) visit(v, `${where}.${k}`);
          return;
        case 'map':
          return visit(s.values, `${where}{}`);
        case 'list':
          return visit(s.items, `${where}[]`);
      }
    };
    for (const [name, s] of Object.entries(defs)) visit(s, name);
    expect(missing).toEqual([]);
  });

  it.each([
    'Namespace',
    'Node',
    'Pod',
    'Service',
    'Endpoints',
    'ConfigMap',
    'Secret',
    'Event',
    'ServiceAccount',
    'PersistentVolumeClaim',
    'PersistentVolume',
    'Deployment',
    'ReplicaSet',
    'DaemonSet',
    'StatefulSet',
    'Job',
    'CronJob',
    'Lease',
    'EndpointSlice',
    'Eviction',
    'PodDisruptionBudget',
    'Binding',
    'Scale',
  ])('%s is a top-level kind with apiVersion, kind and ObjectMeta metadata', (kind) => {
    expect(resolve(at(kind, 'apiVersion'))).toEqual({ t: 'string' });
    expect(resolve(at(kind, 'kind'))).toEqual({ t: 'string' });
    expect(at(kind, 'metadata')).toEqual({ t: 'ref', name: 'ObjectMeta' });
  });

  it('synthesizes list kinds and knows nothing of custom kinds', () => {
    expect(resolve(at('DeploymentList', 'items.[]'))).toBe(resolve(schemaFor('Deployment')!));
    expect(at('PodList', 'metadata')).toEqual({ t: 'ref', name: 'ListMeta' });
    expect(schemaFor('Widget')).toBeUndefined();
    expect(schemaFor('PodSpec')).toBeUndefined();
    expect(schemaFor('ObjectReference')).toBeUndefined();
    expect(schemaFor('PodSpecList')).toBeUndefined();
    expect(checkFields({ spec: { anything: 1 } }, 'Widget')).toEqual({ unknown: [], typeErrors: [] });
    expectClean(
      { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '9' }, items: [configMap] },
      'ConfigMapList',
    );
  });
});

describe('strategic merge patch metadata', () => {
  it.each([
    ['Deployment', 'spec.template.spec.containers', 'name'],
    ['Deployment', 'spec.template.spec.initContainers', 'name'],
    ['Pod', 'spec.ephemeralContainers', 'name'],
    ['Pod', 'spec.imagePullSecrets', 'name'],
    ['Pod', 'spec.schedulingGates', 'name'],
    ['Pod', 'spec.hostAliases', 'ip'],
    ['Pod', 'spec.topologySpreadConstraints', 'topologyKey'],
    ['Pod', 'spec.containers.[].ports', 'containerPort'],
    ['Pod', 'spec.containers.[].env', 'name'],
    ['Pod', 'spec.containers.[].volumeMounts', 'mountPath'],
    ['Pod', 'spec.containers.[].volumeDevices', 'devicePath'],
    ['Pod', 'spec.ephemeralContainers.[].env', 'name'],
    ['Pod', 'status.conditions', 'type'],
    ['Pod', 'metadata.ownerReferences', 'uid'],
    ['Service', 'spec.ports', 'port'],
    ['Node', 'status.addresses', 'type'],
    ['Node', 'status.conditions', 'type'],
    ['Deployment', 'status.conditions', 'type'],
    ['StatefulSet', 'status.conditions', 'type'],
    ['DaemonSet', 'status.conditions', 'type'],
    ['ReplicaSet', 'status.conditions', 'type'],
    ['Job', 'status.conditions', 'type'],
    ['PodDisruptionBudget', 'status.conditions', 'type'],
    ['Namespace', 'status.conditions', 'type'],
    ['PersistentVolumeClaim', 'status.conditions', 'type'],
    ['ServiceAccount', 'secrets', 'name'],
  ])('%s %s merges on %s', (kind, path, key) => {
    const l = listAt(kind, path);
    expect(l.strategy).toBe('merge');
    expect(l.mergeKey).toBe(key);
    expect(l.retainKeys).toBeFalsy();
  });

  it.each([
    ['Pod', 'spec.volumes'],
    ['Deployment', 'spec.template.spec.volumes'],
    ['Pod', 'spec.resourceClaims'],
  ])('%s %s merges on name with retainKeys', (kind, path) => {
    expect(listAt(kind, path)).toMatchObject({ strategy: 'merge', mergeKey: 'name', retainKeys: true });
  });

  it('finalizers are a merged set of strings', () => {
    const l = listAt('Deployment', 'metadata.finalizers');
    expect(l.strategy).toBe('merge');
    expect(l.mergeKey).toBeUndefined();
    expect(resolve(l.items)).toEqual({ t: 'string' });
  });

  it.each([
    ['Pod', 'spec.tolerations'],
    ['Pod', 'spec.containers.[].args'],
    ['Pod', 'spec.containers.[].command'],
    ['Pod', 'spec.containers.[].envFrom'],
    ['Pod', 'spec.readinessGates'],
    ['Node', 'spec.taints'],
    ['Endpoints', 'subsets'],
    ['EndpointSlice', 'endpoints'],
  ])('%s %s is replaced whole', (kind, path) => {
    const l = listAt(kind, path);
    expect(l.strategy).toBeUndefined();
    expect(l.mergeKey).toBeUndefined();
  });

  it('DeploymentSpec.strategy retains keys', () => {
    expect(resolve(at('Deployment', 'spec.strategy'))).toMatchObject({ t: 'object', retainKeys: true });
  });

  it('managedFields is a free-form list', () => {
    expect(resolve(listAt('Pod', 'metadata.managedFields').items)).toEqual({ t: 'any' });
  });
});

describe('checkFields accepts real manifests', () => {
  it.each([
    ['Deployment', deployment],
    ['Pod', pod],
    ['Service', service],
    ['ConfigMap', configMap],
    ['Secret', secret],
    ['StatefulSet', statefulSet],
    ['CronJob', cronJob],
    ['DaemonSet', daemonSet],
    ['Job', job],
    ['Node', node],
    ['Event', event],
    ['Lease', lease],
    ['EndpointSlice', endpointSlice],
  ] as const)('%s', (kind, manifest) => {
    expectClean(manifest, kind);
  });

  it('other kinds', () => {
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'demo' },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      },
      'Namespace',
    );
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: meta('web'),
        secrets: [{ name: 'web-token' }],
        imagePullSecrets: [{ name: 'regcred' }],
        automountServiceAccountToken: false,
      },
      'ServiceAccount',
    );
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: meta('web'),
        subsets: [
          {
            addresses: [
              { ip: '10.244.1.5', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'demo' } },
            ],
            notReadyAddresses: [{ ip: '10.244.1.6', hostname: 'web-2' }],
            ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }],
          },
        ],
      },
      'Endpoints',
    );
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: meta('web-data'),
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '5Gi' }, limits: { storage: '10Gi' } },
          selector: { matchLabels: { tier: 'fast' } },
          volumeName: 'pv-1',
          dataSource: { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io' },
        },
        status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '5Gi' } },
      },
      'PersistentVolumeClaim',
    );
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'pv-1' },
        spec: {
          capacity: { storage: '5Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: 'local-path',
          hostPath: { path: '/srv/pv-1', type: 'DirectoryOrCreate' },
          claimRef: { namespace: 'demo', name: 'web-data' },
          nodeAffinity: {
            required: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] },
              ],
            },
          },
        },
        status: { phase: 'Bound' },
      },
      'PersistentVolume',
    );
    expectClean(
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: fullMeta,
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: podSpec },
        },
        status: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 },
      },
      'ReplicaSet',
    );
    expectClean(
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: meta('web'),
        spec: {
          minAvailable: '50%',
          selector: { matchLabels: { app: 'web' } },
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
        status: {
          currentHealthy: 3,
          desiredHealthy: 2,
          disruptionsAllowed: 1,
          expectedPods: 3,
          observedGeneration: 1,
          disruptedPods: { 'web-1': '2025-01-01T00:00:00Z' },
          conditions: [
            {
              type: 'DisruptionAllowed',
              status: 'True',
              reason: 'SufficientPods',
              message: '',
              lastTransitionTime: '2025-01-01T00:00:00Z',
              observedGeneration: 1,
            },
          ],
        },
      },
      'PodDisruptionBudget',
    );
    expectClean(
      {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'web-1', namespace: 'demo' },
        deleteOptions: {
          gracePeriodSeconds: 30,
          preconditions: { uid: 'u', resourceVersion: '1' },
          propagationPolicy: 'Background',
          dryRun: ['All'],
        },
      },
      'Eviction',
    );
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'web-1', namespace: 'demo' },
        target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' },
      },
      'Binding',
    );
    expectClean(
      {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: 'web', namespace: 'demo' },
        spec: { replicas: 5 },
        status: { replicas: 3, selector: 'app=web' },
      },
      'Scale',
    );
  });

  it('accepts null anywhere, ints or strings for IntOrString and numbers for quantities', () => {
    expectClean(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: null, creationTimestamp: null },
        spec: {
          replicas: null,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } },
          template: {
            metadata: { creationTimestamp: null },
            spec: {
              containers: [{ name: 'a', image: 'x', ports: null, resources: { limits: { cpu: 2, memory: '1Gi' } } }],
            },
          },
        },
        status: {},
      },
      'Deployment',
    );
  });
});

describe('checkFields finds unknown fields', () => {
  it('reports a container typo with its list index', () => {
    const d = structuredClone(deployment) as any;
    d.spec.template.spec.containers[1].imagee = 'busybox';
    expect(checkFields(d, 'Deployment')).toEqual({
      unknown: ['spec.template.spec.containers[1].imagee'],
      typeErrors: [],
    });
  });

  it('reports every unknown field, at any depth, in document order', () => {
    const d = structuredClone(deployment) as any;
    d.specc = {};
    d.metadata.labelz = { a: 'b' };
    d.spec.replica = 3;
    d.spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.nmae = 'db';
    d.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/';
    d.spec.template.spec.volumes[1].configMap.itemz = [];
    d.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologykey =
      'x';
    d.spec.template.spec.containers[0].resources.limit = { cpu: '1' };
    const { unknown, typeErrors } = checkFields(d, 'Deployment');
    expect(typeErrors).toEqual([]);
    expect([...unknown].sort()).toEqual([
      'metadata.labelz',
      'spec.replica',
      'spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologykey',
      'spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.nmae',
      'spec.template.spec.containers[0].livenessProbe.httpGet.paht',
      'spec.template.spec.containers[0].resources.limit',
      'spec.template.spec.volumes[1].configMap.itemz',
      'specc',
    ]);
  });

  it('catches misplaced fields (right name, wrong level)', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', data: { a: 'b' } }, spec: { data: {} } };
    expect(checkFields(cm, 'ConfigMap').unknown).toEqual(['metadata.data', 'spec']);
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { ports: [{ port: 80, containerPort: 80 }] },
    };
    expect(checkFields(svc, 'Service').unknown).toEqual(['spec.ports[0].containerPort']);
  });

  it('does not mistake Object.prototype names for fields', () => {
    const p = JSON.parse(
      '{"apiVersion":"v1","kind":"Pod","metadata":{"constructor":"x","__proto__":{"a":1}},"spec":{"toString":1}}',
    );
    expect(checkFields(p, 'Pod').unknown).toEqual(['metadata.constructor', 'metadata.__proto__', 'spec.toString']);
  });

  it('treats map keys and free-form values as data', () => {
    expectClean(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', labels: { imagee: 'x' }, managedFields: [{ anything: { goes: [1, 2] } }] },
        spec: { containers: [{ name: 'c', image: 'i' }], nodeSelector: { specc: 'y' } },
      },
      'Pod',
    );
  });
});

describe('checkFields finds type errors', () => {
  it('reports wrong JSON types with their paths', () => {
    const d = structuredClone(deployment) as any;
    d.spec.replicas = '3';
    d.spec.paused = 'false';
    d.metadata.labels.app = 1;
    d.spec.template.spec.containers[0].ports[0].containerPort = '80';
    d.spec.template.spec.containers[0].env[0].value = 42;
    d.spec.template.spec.containers[0].args = 'run';
    d.spec.template.spec.containers[0].resources.limits.cpu = true;
    d.spec.template.spec.containers[0].livenessProbe.httpGet.port = 80.5;
    d.spec.template.spec.securityContext = 'restricted';
    d.spec.template.spec.tolerations = { key: 'a' };
    d.status.conditions[0].lastTransitionTime = 1735689600;
    d.spec.template.spec.containers[0].command = ['sh', 1];
    const { unknown, typeErrors } = checkFields(d, 'Deployment');
    expect(unknown).toEqual([]);
    expect([...typeErrors].sort()).toEqual([
      'metadata.labels.app: expected string, got integer',
      'spec.paused: expected boolean, got string',
      'spec.replicas: expected integer, got string',
      'spec.template.spec.containers[0].args: expected array, got string',
      'spec.template.spec.containers[0].command[1]: expected string, got integer',
      'spec.template.spec.containers[0].env[0].value: expected string, got integer',
      'spec.template.spec.containers[0].livenessProbe.httpGet.port: expected integer or string, got number 80.5',
      'spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string',
      'spec.template.spec.containers[0].resources.limits.cpu: expected quantity (string or number), got boolean',
      'spec.template.spec.securityContext: expected object, got string',
      'spec.template.spec.tolerations: expected array, got object',
      'status.conditions[0].lastTransitionTime: expected time (RFC 3339 string), got integer',
    ]);
  });

  it('rejects a non-integer where an integer is expected', () => {
    const j = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { backoffLimit: 1.5, template: { spec: { containers: [] } } },
    };
    expect(checkFields(j, 'Job').typeErrors).toEqual(['spec.backoffLimit: expected integer, got number 1.5']);
  });

  it('reports a non-object document', () => {
    expect(checkFields('hello', 'Pod').typeErrors).toEqual(['<root>: expected object, got string']);
    expect(checkFields([], 'Pod').typeErrors).toEqual(['<root>: expected object, got array']);
  });

  it('reports both kinds of problem together and does not descend into wrong-typed values', () => {
    const s = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', annotations: ['a'] },
      data: { k: 1 },
      strngData: {},
    };
    expect(checkFields(s, 'Secret')).toEqual({
      unknown: ['strngData'],
      typeErrors: ['metadata.annotations: expected object (map), got array', 'data.k: expected string, got integer'],
    });
  });
});
