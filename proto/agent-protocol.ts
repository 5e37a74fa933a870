// The agent <-> control plane WebSocket protocol (DESIGN.md "Agent <-> control plane"):
// JSON messages `{type, ...}`, each checked against its schema on receipt by both
// sides. Unknown or malformed messages are answered with an `error` message, never a crash.
// Map of the code base: ARCHITECTURE.md, "The agent protocol".
import { z } from 'zod';

export const PROTOCOL_PATH = '/agent/v1/connect';
export const PROTOCOL_VERSION = 1;
/**
 * WebSocket close codes the server ends an agent connection with (4000-4999 are the
 * application's; 1008 policy violation: flooding, 1011 internal error).
 */
export const CloseCode = {
  registerTimeout: 4000,
  badNodeName: 4001,
  protocol: 4002,
  /** the register asks for something the node may not have (labels) */
  forbidden: 4003,
  /** the node credential is missing or does not match the node's */
  credentialRefused: 4004,
  /** another live connection serves this node name */
  nameInUse: 4009,
  /** the node's Node object was deleted: register again */
  nodeDeleted: 4010,
  policyViolation: 1008,
  internalError: 1011,
} as const;
/** biggest message either side accepts (a pod list of 110 large pods fits) */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const obj = z.record(z.string(), z.unknown());
const kubeObject = z
  .object({ metadata: z.object({ name: z.string(), namespace: z.string().optional(), uid: z.string() }).passthrough() })
  .passthrough();
/** an object as the protocol carries it (a pod, a ConfigMap, ...): its metadata checked, the rest passed through */
export type WireObject = z.infer<typeof kubeObject>;
/** an object the server sends (a stored object of any kind, a TokenRequest) as the protocol carries it */
export function wireObject(o: { metadata: object }): WireObject {
  return o as WireObject;
}
const podRef = z.object({ namespace: z.string().min(1), name: z.string().min(1), uid: z.string().min(1) });
const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export const NodeReport = z.object({
  name: z.string().min(1).max(253),
  labels: z.record(z.string(), z.string()).optional(),
  taints: z
    .array(
      z.object({
        key: z.string(),
        value: z.string().optional(),
        effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
      }),
    )
    .optional(),
  capacity: z.record(z.string(), z.string()),
  allocatable: z.record(z.string(), z.string()),
  nodeInfo: obj,
  addresses: z.array(z.object({ type: z.string(), address: z.string() })),
  conditions: z.array(condition),
});
export type NodeReport = z.infer<typeof NodeReport>;

// ---- agent -> server ----

/**
 * The node's own credential (k3s' node password): random bytes the agent generates on
 * its first start and keeps in its data dir; the server stores only a hash and refuses
 * a register for a known node name without it. Optional here only so that an agent too
 * old to send it gets a clear refusal instead of a schema error.
 */
export const NodeCredential = z
  .string()
  .regex(/^[A-Za-z0-9_-]{32,256}$/, 'node credential: 32 to 256 characters of [A-Za-z0-9_-]');
export const Register = z.object({
  type: z.literal('register'),
  protocol: z.number().int(),
  node: NodeReport,
  credential: NodeCredential.optional(),
});
export const Heartbeat = z.object({ type: z.literal('heartbeat'), conditions: z.array(condition).optional() });
export const PodStatusMsg = z.object({ type: z.literal('podStatus'), pod: podRef, status: obj });
/** the agent has stopped and removed everything of the pod: the server may delete the object */
export const PodTerminated = z.object({ type: z.literal('podTerminated'), pod: podRef });
export const EventMsg = z.object({
  type: z.literal('event'),
  involvedObject: z.object({
    kind: z.string(),
    namespace: z.string().optional(),
    name: z.string(),
    uid: z.string(),
    fieldPath: z.string().optional(),
    apiVersion: z.string().optional(),
  }),
  eventType: z.enum(['Normal', 'Warning']),
  reason: z.string().max(128),
  message: z.string().max(4096),
});
export const StreamData = z.object({
  type: z.literal('streamData'),
  id: z.string(),
  channel: z.number().int().min(0).max(255),
  data: z.string(),
});
export const StreamEnd = z.object({
  type: z.literal('streamEnd'),
  id: z.string(),
  error: z.string().optional(),
  /** exec exit code */
  exitCode: z.number().int().optional(),
});
export const ErrorMsg = z.object({ type: z.literal('error'), message: z.string(), ref: z.string().optional() });
/** resource usage for the metrics API (kubectl top): cpu in nanocores, memory working set in bytes */
const usage = z.object({ cpuNanoCores: z.number().min(0), memoryWorkingSetBytes: z.number().min(0) });
export const StatsMsg = z.object({
  type: z.literal('stats'),
  timestamp: z.string(),
  windowSeconds: z.number().positive(),
  node: usage,
  pods: z
    .array(z.object({ pod: podRef, containers: z.array(z.object({ name: z.string() }).merge(usage)).max(64) }))
    .max(1000),
});
export type StatsMsg = z.infer<typeof StatsMsg>;

/**
 * The agent reads a ConfigMap or Secret a pod bound to its node needs (env valueFrom,
 * envFrom, configMap/secret/projected volumes, imagePullSecrets), or the
 * PersistentVolumeClaim a pod's volume names and the PersistentVolume bound to it. The server answers with
 * `object`; it refuses (403 Forbidden) any object no pod on the node references, as
 * Kubernetes' node authorizer does.
 */
export const GetObject = z.object({
  type: z.literal('getObject'),
  id: z.string().min(1).max(64),
  kind: z.enum(['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'PersistentVolume']),
  /** for the cluster-scoped PersistentVolume: the namespace of the pod (and claim) it is read for */
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
});
export type GetObject = z.infer<typeof GetObject>;

/**
 * A ServiceAccount token for a projected `serviceAccountToken` volume source (kubelet's
 * TokenRequest with boundObjectRef = the pod). The server answers with `object` (a
 * TokenRequest with status.token and status.expirationTimestamp) only for a pod bound to
 * the node that runs as that ServiceAccount (the node authorizer's rule); else 403.
 */
export const RequestToken = z.object({
  type: z.literal('requestToken'),
  id: z.string().min(1).max(64),
  namespace: z.string().min(1).max(63),
  serviceAccountName: z.string().min(1).max(253),
  podName: z.string().min(1).max(253),
  podUid: z.string().min(1).max(64),
  audiences: z.array(z.string().min(1).max(1024)).max(16).optional(),
  expirationSeconds: z
    .number()
    .int()
    .min(600)
    .max(2 ** 32),
});
export type RequestToken = z.infer<typeof RequestToken>;

/** the agent's answer to `volumeCreate`/`volumeDelete`: the directory made, or why it failed (nothing left behind) */
export const VolumeResult = z.object({
  type: z.literal('volumeResult'),
  id: z.string().min(1).max(64),
  path: z.string().min(1).max(4096).optional(),
  error: z.string().max(4096).optional(),
});
export type VolumeResult = z.infer<typeof VolumeResult>;

export const AgentMessage = z.discriminatedUnion('type', [
  Register,
  Heartbeat,
  PodStatusMsg,
  PodTerminated,
  EventMsg,
  StreamData,
  StreamEnd,
  ErrorMsg,
  StatsMsg,
  GetObject,
  VolumeResult,
  RequestToken,
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// ---- server -> agent ----

export const Registered = z.object({
  type: z.literal('registered'),
  node: z.string(),
  heartbeatIntervalSeconds: z.number(),
});
/** the full set of pods bound to the node (on (re)connect) */
export const PodSet = z.object({ type: z.literal('pods'), pods: z.array(kubeObject) });
export const PodUpsert = z.object({ type: z.literal('podUpsert'), pod: kubeObject });
export const PodDelete = z.object({ type: z.literal('podDelete'), pod: podRef });
export const LogOptions = z.object({
  container: z.string(),
  follow: z.boolean().optional(),
  tailLines: z.number().int().min(0).optional(),
  timestamps: z.boolean().optional(),
  sinceSeconds: z.number().int().min(0).optional(),
  sinceTime: z.string().optional(),
  limitBytes: z.number().int().min(1).optional(),
  previous: z.boolean().optional(),
});
export const ExecOptions = z.object({
  container: z.string(),
  command: z.array(z.string()).min(1),
  stdin: z.boolean(),
  stdout: z.boolean(),
  stderr: z.boolean(),
  tty: z.boolean(),
});
export const StreamOpen = z.object({
  type: z.literal('streamOpen'),
  id: z.string(),
  pod: podRef,
  kind: z.enum(['log', 'exec', 'attach', 'portforward']),
  log: LogOptions.optional(),
  exec: ExecOptions.optional(),
  /** portforward: the pod's TCP port the agent connects to (pod IP, or 127.0.0.1 with hostNetwork) */
  port: z.number().int().min(1).max(65535).optional(),
});
/**
 * stdin (channel 0) or resize (channel 4, JSON {Width, Height}) for an exec stream.
 * portforward: channel 0 bytes for the pod's port, 255 the client finished sending
 * (half-close), 254 flow control from the server: [1] pause reading the pod, [0] resume.
 * The agent answers with streamData channel 1 (bytes from the pod) and streamEnd
 * (error set when the connection to the pod failed).
 */
export const StreamInput = z.object({
  type: z.literal('streamInput'),
  id: z.string(),
  channel: z.number().int().min(0).max(255),
  data: z.string(),
});
export const StreamClose = z.object({ type: z.literal('streamClose'), id: z.string() });

// The cluster network as every agent needs it (routes, service proxy, DNS), sent whole on
// registration and whenever it changes. Everything that reaches iptables or ip(8) is
// checked here, so a bad value is a rejected message, never an injected rule.
const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, 'IPv4 address');
const cidr4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/([0-9]|[12]\d|3[0-2])$/,
    'IPv4 CIDR',
  );
const dnsName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const port = z.number().int().min(1).max(65535);
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
export const NetNode = z.object({ name: dnsName, podCIDR: cidr4.optional(), internalIP: ipv4.optional() });
export const NetEndpoint = z.object({
  ip: ipv4,
  node: dnsName.optional(),
  ready: z.boolean(),
  terminating: z.boolean().optional(),
  hostname: dnsName.optional(),
  ports: z.array(z.object({ name: z.string().max(63), port, protocol })).max(100),
});
export const NetService = z.object({
  namespace: dnsName,
  name: dnsName,
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
  clusterIP: ipv4.optional(),
  headless: z.boolean().optional(),
  externalName: dnsName.optional(),
  externalIPs: z.array(ipv4).max(100).optional(),
  loadBalancerIPs: z.array(ipv4).max(1000).optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  affinitySeconds: z.number().int().min(1).max(86400).optional(),
  ports: z.array(z.object({ name: z.string().max(63), protocol, port, nodePort: port.optional() })).max(100),
  endpoints: z.array(NetEndpoint).max(10000),
});
// NetworkPolicy enforcement (agent/network/policy-rules.ts): the policies, every pod with an
// IP (namespace, labels, named ports) and every namespace's labels, sent only while at least
// one policy exists. Selectors and names never reach iptables: only the IPs, CIDRs and port
// numbers checked here do.
const labelMap = z.record(z.string().max(317), z.string().max(63));
const NetSelector = z.object({
  matchLabels: labelMap.optional(),
  matchExpressions: z
    .array(
      z.object({
        key: z.string().max(317),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string().max(63)).max(1000).optional(),
      }),
    )
    .max(100)
    .optional(),
});
const portName = z.string().regex(/^[-a-z0-9]{1,15}$/);
/** a peer: podSelector and/or namespaceSelector, or an IPv4 ipBlock; {} (an IPv6 ipBlock) matches nothing */
export const NetPolicyPeer = z.object({
  podSelector: NetSelector.optional(),
  namespaceSelector: NetSelector.optional(),
  ipBlock: z.object({ cidr: cidr4, except: z.array(cidr4).max(100).optional() }).optional(),
});
export const NetPolicyPort = z.object({
  protocol,
  port: z.union([port, portName]).optional(),
  endPort: port.optional(),
});
/** one ingress or egress rule: peers absent = every peer, ports absent = every port */
export const NetPolicyRule = z.object({
  peers: z.array(NetPolicyPeer).max(1000).optional(),
  ports: z.array(NetPolicyPort).max(1000).optional(),
});
export const NetPolicy = z.object({
  namespace: dnsName,
  name: dnsName,
  podSelector: NetSelector,
  ingress: z.array(NetPolicyRule).max(1000).optional(),
  egress: z.array(NetPolicyRule).max(1000).optional(),
});
export const NetPod = z.object({
  namespace: dnsName,
  name: dnsName,
  ip: ipv4,
  node: dnsName.optional(),
  labels: labelMap.optional(),
  /** named container ports, for named ports in policies */
  ports: z
    .array(z.object({ name: portName, port, protocol }))
    .max(1000)
    .optional(),
});
export const NetNamespace = z.object({ name: dnsName, labels: labelMap.optional() });
// Ingresses of the skiff class (agent/ingress/): hosts, paths and backends as validated by
// the API; they never reach iptables, only the agent's proxy. The TLS key pairs are those of
// kubernetes.io/tls Secrets such Ingresses name (controlplane/agents/ingress-state.ts).
const ingressBackend = z.object({ service: z.string().max(63), port: z.union([port, z.string().max(15)]) });
export const NetIngress = z.object({
  namespace: dnsName,
  name: dnsName,
  defaultBackend: ingressBackend.optional(),
  rules: z
    .array(
      z.object({
        host: z.string().max(253).optional(),
        paths: z
          .array(
            z.object({
              path: z.string().max(4096),
              pathType: z.enum(['Exact', 'Prefix', 'ImplementationSpecific']),
              backend: ingressBackend,
            }),
          )
          .max(1000),
      }),
    )
    .max(1000),
  tls: z
    .array(z.object({ hosts: z.array(z.string().max(253)).max(1000), secretName: z.string().max(253).optional() }))
    .max(1000)
    .optional(),
});
export const NetIngressCert = z.object({
  namespace: dnsName,
  name: dnsName,
  cert: z.string().max(1 << 20),
  key: z.string().max(1 << 20),
});
export type NetIngress = z.infer<typeof NetIngress>;
export type NetIngressCert = z.infer<typeof NetIngressCert>;
export const NetworkState = z.object({
  type: z.literal('network'),
  clusterCIDR: cidr4,
  serviceCIDR: cidr4,
  clusterDNS: ipv4,
  clusterDomain: dnsName,
  nodes: z.array(NetNode).max(5000),
  services: z.array(NetService).max(20000),
  policies: z.array(NetPolicy).max(20000).optional(),
  pods: z.array(NetPod).max(200000).optional(),
  namespaces: z.array(NetNamespace).max(20000).optional(),
  ingresses: z.array(NetIngress).max(20000).optional(),
  ingressCerts: z.array(NetIngressCert).max(20000).optional(),
});
export type NetworkState = z.infer<typeof NetworkState>;
export type NetPolicy = z.infer<typeof NetPolicy>;
export type NetPolicyRule = z.infer<typeof NetPolicyRule>;
export type NetPolicyPeer = z.infer<typeof NetPolicyPeer>;
export type NetPolicyPort = z.infer<typeof NetPolicyPort>;
export type NetPod = z.infer<typeof NetPod>;
export type NetNamespace = z.infer<typeof NetNamespace>;
export type NetService = z.infer<typeof NetService>;
export type NetEndpoint = z.infer<typeof NetEndpoint>;
export type NetNode = z.infer<typeof NetNode>;

/** the answer to a `getObject`: the object, or the API error (code 403 Forbidden, 404 NotFound, ...) */
export const ObjectReply = z.object({
  type: z.literal('object'),
  id: z.string().min(1).max(64),
  object: kubeObject.optional(),
  error: z.object({ code: z.number().int(), reason: z.string().max(128), message: z.string().max(4096) }).optional(),
});
export type ObjectReply = z.infer<typeof ObjectReply>;

// The local-path provisioner's volumes: the server asks the node's agent to make or remove
// a directory (it never touches a node's disk itself); the agent answers with `volumeResult`.
// The agent checks again what it is asked (agent/storage/local-volumes.ts): only
// `<base>/<pvName>` inside its storage base, never a path the server merely names.
/** a PersistentVolume name (DNS-1123 subdomain): one path element, never "." or ".." */
export const PV_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const pvName = z.string().min(1).max(253).regex(PV_NAME_RE, 'a DNS-1123 subdomain');
const absPath = z
  .string()
  .min(2)
  .max(4096)
  .regex(/^\/[^\0]*$/, 'an absolute path');
export const VolumeCreate = z.object({
  type: z.literal('volumeCreate'),
  id: z.string().min(1).max(64),
  pvName,
  /** StorageClass parameter: the base directory; absent → `<agent data-dir>/storage` */
  basePath: absPath.optional(),
  sizeBytes: z.number().int().min(0),
});
export const VolumeDelete = z.object({
  type: z.literal('volumeDelete'),
  id: z.string().min(1).max(64),
  pvName,
  path: absPath,
});
export type VolumeCreate = z.infer<typeof VolumeCreate>;
export type VolumeDelete = z.infer<typeof VolumeDelete>;

export const ServerMessage = z.discriminatedUnion('type', [
  Registered,
  PodSet,
  PodUpsert,
  PodDelete,
  StreamOpen,
  StreamInput,
  StreamClose,
  ErrorMsg,
  NetworkState,
  ObjectReply,
  VolumeCreate,
  VolumeDelete,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type LogOptions = z.infer<typeof LogOptions>;
export type ExecOptions = z.infer<typeof ExecOptions>;

export type ParseResult<T> = { ok: true; msg: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): ParseResult<T> {
  let data: unknown;
  try {
    const text =
      typeof raw === 'string'
        ? raw
        : Buffer.isBuffer(raw)
          ? raw.toString('utf8')
          : Array.isArray(raw)
            ? Buffer.concat(raw as Buffer[]).toString('utf8')
            : Buffer.from(raw as ArrayBuffer).toString('utf8');
    if (text.length > MAX_MESSAGE_BYTES) return { ok: false, error: 'message too large' };
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `malformed message: ${(e as Error).message}` };
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0];
    return {
      ok: false,
      error: `invalid message: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'schema mismatch'}`,
    };
  }
  return { ok: true, msg: r.data };
}

export const parseAgentMessage = (raw: unknown) => parseWith(AgentMessage, raw);
export const parseServerMessage = (raw: unknown) => parseWith(ServerMessage, raw);
