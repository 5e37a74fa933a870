// skiff-server's command line, parsed into one config object.
import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../proto/duration.js';
import { cidrContains, parseCidr, parseIPv4 } from '../proto/cidr.js';
import { parseCron } from './snapshot/cron.js';
import { validToken } from './security/bootstrap-sync.js';
import { validateTimings } from './leader/lease-plan.js';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  advertiseAddress?: string;
  tlsSans: string[];
  /** kube-apiserver's static token CSV (token,user,uid,"group1,group2") */
  tokenAuthFile?: string;
  /** the iss of ServiceAccount tokens (--service-account-issuer; default https://kubernetes.default.svc.cluster.local) */
  serviceAccountIssuer?: string;
  /** audiences the API accepts in ServiceAccount tokens (--api-audiences; default [issuer]) */
  apiAudiences?: string[];
  /** RBAC (default) or AlwaysAllow (every authenticated request allowed, as before RBAC) */
  authorizationMode?: 'RBAC' | 'AlwaysAllow';
  compactIntervalMs: number;
  compactRetain: number;
  logLevel: string;
  schedulerStrategy: 'spread' | 'binpack';
  /** more scheduler profiles (kube-scheduler's profiles[]): pods naming schedulerName get that strategy */
  schedulerProfiles?: { schedulerName: string; strategy: 'spread' | 'binpack' }[];
  /** kube-scheduler's percentageOfNodesToScore: 0 adaptive (50 % less 1 % per 125 nodes, at least 5 %), 100 every node */
  percentageOfNodesToScore?: number;
  nodeGracePeriodMs: number;
  defaultUnreachableTolerationSeconds: number;
  eventTtlMs: number;
  /** pod network; each node gets a /nodeCidrMaskSize of it as Node.spec.podCIDR */
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** Service ClusterIPs come from here */
  serviceCidr: string;
  nodePortRange: { min: number; max: number };
  /** the cluster DNS Service's ClusterIP (kube-system/kube-dns) and the cluster domain */
  clusterDns: string;
  clusterDomain: string;
  /** encrypt Secrets at rest (AES-GCM, keys in <data-dir>/encryption-config.json); default true */
  secretsEncryption?: boolean;
  /** objects (pods, Jobs) all controllers together may create per second; 0: no limit (--controllers-qps) */
  controllersQps?: number;
  /** creations allowed at once after a quiet period (--controllers-burst) */
  controllersBurst?: number;
  /** zone disruption (kube-controller-manager's flags of the same names) */
  nodeEvictionRate?: number;
  secondaryNodeEvictionRate?: number;
  unhealthyZoneThreshold?: number;
  largeClusterSizeThreshold?: number;
  /** let requests without credentials through as system:anonymous (group system:unauthenticated), RBAC decides; default false, as k3s */
  anonymousAuth?: boolean;
  /** audit log (kube-apiserver's flags): JSON lines of audit.k8s.io/v1 Event; absent: no audit log */
  auditLogPath?: string;
  /** audit.k8s.io/v1 Policy (YAML or JSON); absent: every request at Metadata level */
  auditPolicyFile?: string;
  /** rotate the audit log when it exceeds this many megabytes */
  auditLogMaxSizeMb?: number;
  /** rotated audit files kept (0: keep all) */
  auditLogMaxBackup?: number;
  /** longest validity of a certificate the CSR signer issues (--cluster-signing-duration) */
  clusterSigningDurationMs?: number;
  /** Pod Security admission defaults for namespaces without labels, e.g. "enforce=baseline,warn=restricted:v1.32" (raw; parsed by the admission plugin); absent: privileged */
  podSecurityDefault?: string;
  /** namespaces Pod Security admission never checks (--pod-security-exempt-namespaces) */
  podSecurityExemptNamespaces?: string[];
  /** etcd instead of SQLite (--datastore-endpoint, k3s' flag): http(s)://host:port of each member, plus TLS files */
  datastore?: { endpoints: string[]; caFile?: string; certFile?: string; keyFile?: string };
  /** the cluster's token (--token / --token-file, k3s' flags): with etcd it seals and opens the shared bootstrap data (CA, keys, tokens); its secret is the agents' join secret */
  token?: string;
  tokenFile?: string;
  /** scheduled snapshots into <data-dir>/snapshots/ (5-field cron) and how many to keep */
  snapshotSchedule?: string;
  snapshotRetention?: number;
  /** this server's name (default: the hostname): its identity Lease apiserver-<hash> and the prefix of its leader-election identity */
  serverName?: string;
  /** run the controllers and the scheduler only while holding their Leases (--leader-elect, default true) */
  leaderElect?: boolean;
  /** kube-controller-manager's --leader-elect-lease-duration/-renew-deadline/-retry-period (15s, 10s, 2s) */
  leaderElection?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

/** --datastore-endpoint: comma-separated http(s)://host:port of etcd members */
export function parseDatastoreEndpoints(v: string): string[] {
  const list = v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!list.length)
    throw new InvalidArgumentError(
      '--datastore-endpoint wants http(s)://host:port of the etcd members, comma-separated',
    );
  for (const e of list) {
    if (!/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/.test(e))
      throw new InvalidArgumentError(`--datastore-endpoint: want http(s)://host:port of an etcd member, got ${e}`);
  }
  if (new Set(list.map((e) => e.startsWith('https:'))).size > 1)
    throw new InvalidArgumentError('--datastore-endpoint: all http:// or all https://, not both');
  return list.map((e) => e.replace(/\/$/, ''));
}

function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`--listen wants HOST:PORT, got ${v}`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new InvalidArgumentError(`port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function parseBool(v: string): boolean {
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new InvalidArgumentError(`want true or false, got ${v}`);
}

function authorizationMode(v: string): 'RBAC' | 'AlwaysAllow' {
  if (v === 'RBAC' || v === 'AlwaysAllow') return v;
  throw new InvalidArgumentError(`--authorization-mode: want RBAC or AlwaysAllow, got ${v}`);
}

export function parseServerArgs(argv: string[]): ServerConfig {
  const cmd = new Command('skiff-server')
    .description('skiff control plane: Kubernetes API, store, scheduler and controllers')
    .option('--data-dir <dir>', 'state, certificates and tokens', '/var/lib/skiff/server')
    .option('--listen <host:port>', 'address to serve the API on (TLS)', '0.0.0.0:6443')
    .option('--advertise-address <ip>', 'address agents and kubeconfigs use to reach this server')
    .option(
      '--tls-san <name>',
      'extra name or IP for the serving certificate (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--service-account-issuer <url>',
      'the issuer (iss) of ServiceAccount tokens',
      'https://kubernetes.default.svc.cluster.local',
    )
    .option(
      '--api-audiences <list>',
      'comma-separated audiences accepted in ServiceAccount tokens (default: the issuer)',
    )
    .option('--token-auth-file <file>', 'static bearer tokens, kube-apiserver\'s CSV: token,user,uid,"group1,group2"')
    .option('--authorization-mode <mode>', 'RBAC, or AlwaysAllow to let every authenticated request through', 'RBAC')
    .option('--compact-interval <duration>', 'how often to compact store history', '5m')
    .option('--compact-retention <revisions>', 'revisions of history kept for watches', '1000')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .option(
      '--node-grace-period <duration>',
      'missed heartbeats for this long make a node Unknown (unreachable)',
      '15s',
    )
    .option(
      '--default-unreachable-toleration-seconds <n>',
      'how long pods stay on a not-ready/unreachable node before eviction (Kubernetes: 300)',
      '10',
    )
    .option('--event-ttl <duration>', 'how long Events are kept', '1h')
    .option(
      '--scheduler-strategy <spread|binpack>',
      'spread pods (LeastAllocated) or pack them (MostAllocated)',
      'spread',
    )
    .option(
      '--scheduler-profile <name=strategy>',
      "one more scheduler profile, as kube-scheduler's profiles: pods with spec.schedulerName <name> are scheduled with that strategy, spread or binpack (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--percentage-of-nodes-to-score <n>',
      "stop looking for feasible nodes once this percentage of the cluster fits a pod (at least 100 nodes), as kube-scheduler's percentageOfNodesToScore; 0: adaptive (50 % less 1 % per 125 nodes, at least 5 %), 100: every node",
      '0',
    )
    .option('--cluster-cidr <cidr>', 'pod network; each node gets a subnet of it', '10.42.0.0/16')
    .option('--node-cidr-mask-size <n>', "prefix length of each node's pod subnet", '24')
    .option('--service-cidr <cidr>', 'network Service ClusterIPs are allocated from', '10.43.0.0/16')
    .option('--service-node-port-range <a-b>', 'port range NodePorts are allocated from', '30000-32767')
    .option('--cluster-dns <ip>', 'ClusterIP of the cluster DNS service (inside --service-cidr)', '10.43.0.10')
    .option('--cluster-domain <domain>', 'cluster DNS domain', 'cluster.local')
    .option(
      '--secrets-encryption [bool]',
      'encrypt Secrets at rest with AES-GCM, keys in <data-dir>/encryption-config.json (made on first start; the first key encrypts, all decrypt; at startup Secrets not under the first key are re-encrypted). =false writes Secrets in plaintext and, at startup, decrypts the stored ones (the key file must still hold their keys)',
      parseBool,
      true,
    )
    .option(
      '--controllers-qps <n>',
      "objects (pods, Jobs) the controllers together may create per second, as kube-controller-manager's --kube-api-qps; 0: no limit",
      '50',
    )
    .option(
      '--controllers-burst <n>',
      'creations allowed at once after a quiet period (token bucket size), as --kube-api-burst',
      '100',
    )
    .option(
      '--node-eviction-rate <n>',
      "nodes per second, per zone, whose pods may be evicted while the zone is healthy (kube-controller-manager's flag)",
      '0.1',
    )
    .option(
      '--secondary-node-eviction-rate <n>',
      'the same for a partially disrupted zone of more than --large-cluster-size-threshold nodes (smaller zones: 0)',
      '0.01',
    )
    .option(
      '--unhealthy-zone-threshold <fraction>',
      'fraction of not-Ready nodes (at least 3) that makes a zone partially disrupted; when every node of every zone is not Ready nothing is evicted',
      '0.55',
    )
    .option(
      '--large-cluster-size-threshold <n>',
      'zones with more nodes than this keep evicting (slowly) when partially disrupted',
      '50',
    )
    .option(
      '--anonymous-auth [bool]',
      'serve requests that carry no credentials as user system:anonymous (group system:unauthenticated), for RBAC to allow or refuse; k3s and skiff default to false (401)',
      parseBool,
      false,
    )
    .option(
      '--audit-log-path <file>',
      'write an audit log (audit.k8s.io/v1 Event JSON lines) to this file; - for standard output',
    )
    .option(
      '--audit-policy-file <file>',
      'audit.k8s.io/v1 Policy deciding what is logged at which level (default: everything at Metadata)',
    )
    .option('--audit-log-maxsize <mb>', 'rotate the audit log when it grows past this many megabytes', '100')
    .option('--audit-log-maxbackup <n>', 'rotated audit log files kept (0: all)', '10')
    .option(
      '--cluster-signing-duration <duration>',
      'longest validity of certificates issued for CertificateSigningRequests',
      '8760h',
    )
    .option(
      '--pod-security-default <list>',
      "Pod Security admission for namespaces without pod-security.kubernetes.io labels: MODE=LEVEL[:VERSION],… with MODE enforce|audit|warn, LEVEL privileged|baseline|restricted (Kubernetes' default: privileged for all)",
    )
    .option(
      '--pod-security-exempt-namespaces <list>',
      'comma-separated namespaces Pod Security admission does not check',
    )
    .option(
      '--datastore-endpoint <list>',
      "use etcd, not the embedded SQLite: http(s)://host:port of each etcd member, comma-separated (k3s' flag)",
    )
    .option('--datastore-cafile <file>', "CA bundle that signed the etcd members' certificates")
    .option('--datastore-certfile <file>', 'client certificate for etcd')
    .option('--datastore-keyfile <file>', 'client key for etcd')
    .option(
      '--token <token>',
      "the cluster's token: the first server's <data-dir>/token (K10<ca hash>::node:<secret>) or a secret of your choice on the first server. With --datastore-endpoint it encrypts the CA, keys and tokens every server shares in the datastore; a server with an empty --data-dir joins the cluster with it. Agents join with it too",
    )
    .option('--token-file <file>', 'read --token from this file')
    .option(
      '--snapshot-schedule <cron>',
      'take a snapshot into <data-dir>/snapshots/ on this 5-field cron schedule (UTC), e.g. "0 */6 * * *"',
    )
    .option('--snapshot-retention <n>', 'scheduled snapshots kept', '5')
    .option(
      '--server-name <name>',
      "this server's name among several (default: the hostname): its identity Lease kube-system/apiserver-<hash> and its leader-election identity <name>_<uuid>",
    )
    .option(
      '--leader-elect [bool]',
      'run the controllers and the scheduler only while this server holds the kube-system/kube-controller-manager and kube-system/kube-scheduler Leases (several servers on one datastore); a lone server elects itself at once',
      parseBool,
      true,
    )
    .option(
      '--leader-elect-lease-duration <duration>',
      'how long a candidate waits after it last saw the leader renew before it takes the Lease',
      '15s',
    )
    .option(
      '--leader-elect-renew-deadline <duration>',
      'how long the leader keeps trying to renew before it stops its controllers and scheduler',
      '10s',
    )
    .option('--leader-elect-retry-period <duration>', 'the interval between tries to acquire or renew', '2s')
    .exitOverride();
  cmd.parse(argv, { from: 'user' });
  try {
    return configFrom(cmd);
  } catch (e) {
    // a value refused after parsing is reported as commander reports its own (stderr, exit 2)
    if (e instanceof InvalidArgumentError)
      cmd.error(`error: ${e.message}`, { exitCode: 2, code: 'commander.invalidArgument' });
    throw e;
  }
}

function configFrom(cmd: Command): ServerConfig {
  const o = cmd.opts<{
    dataDir: string;
    listen: string;
    advertiseAddress?: string;
    tlsSan: string[];
    tokenAuthFile?: string;
    serviceAccountIssuer: string;
    apiAudiences?: string;
    authorizationMode: string;
    compactInterval: string;
    compactRetention: string;
    logLevel: string;
    schedulerStrategy: string;
    schedulerProfile: string[];
    percentageOfNodesToScore: string;
    nodeGracePeriod: string;
    defaultUnreachableTolerationSeconds: string;
    eventTtl: string;
    clusterCidr: string;
    nodeCidrMaskSize: string;
    serviceCidr: string;
    serviceNodePortRange: string;
    clusterDns: string;
    clusterDomain: string;
    secretsEncryption: boolean;
    controllersQps: string;
    controllersBurst: string;
    nodeEvictionRate: string;
    secondaryNodeEvictionRate: string;
    unhealthyZoneThreshold: string;
    largeClusterSizeThreshold: string;
    anonymousAuth: boolean;
    auditLogPath?: string;
    auditPolicyFile?: string;
    auditLogMaxsize: string;
    auditLogMaxbackup: string;
    clusterSigningDuration: string;
    podSecurityDefault?: string;
    podSecurityExemptNamespaces?: string;
    datastoreEndpoint?: string;
    datastoreCafile?: string;
    datastoreCertfile?: string;
    datastoreKeyfile?: string;
    token?: string;
    tokenFile?: string;
    snapshotSchedule?: string;
    snapshotRetention: string;
    serverName?: string;
    leaderElect: boolean;
    leaderElectLeaseDuration: string;
    leaderElectRenewDeadline: string;
    leaderElectRetryPeriod: string;
  }>();
  const { host, port } = parseListen(o.listen);
  const retain = Number(o.compactRetention);
  if (!Number.isInteger(retain) || retain < 0)
    throw new InvalidArgumentError('--compact-retention must be a non-negative integer');
  if (o.schedulerStrategy !== 'spread' && o.schedulerStrategy !== 'binpack')
    throw new InvalidArgumentError('--scheduler-strategy must be spread or binpack');
  const schedulerProfiles = o.schedulerProfile.map((v) => {
    const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)=(spread|binpack)$/.exec(v);
    if (!m || m[1] === 'default-scheduler')
      throw new InvalidArgumentError(
        `--scheduler-profile wants <name>=spread|binpack with a name other than default-scheduler, got ${v}`,
      );
    return { schedulerName: m[1]!, strategy: m[3] as 'spread' | 'binpack' };
  });
  if (!/^\d+$/.test(o.percentageOfNodesToScore) || Number(o.percentageOfNodesToScore) > 100)
    throw new InvalidArgumentError(
      `--percentage-of-nodes-to-score must be an integer between 0 and 100, got ${o.percentageOfNodesToScore}`,
    );
  const tol = Number(o.defaultUnreachableTolerationSeconds);
  if (!Number.isInteger(tol) || tol < 0)
    throw new InvalidArgumentError('--default-unreachable-toleration-seconds must be a non-negative integer');
  const cluster = parseCidr(o.clusterCidr);
  if (!cluster)
    throw new InvalidArgumentError(`--cluster-cidr wants an IPv4 CIDR with zero host bits, got ${o.clusterCidr}`);
  const nodeMask = Number(o.nodeCidrMaskSize);
  if (!Number.isInteger(nodeMask) || nodeMask < cluster.prefix || nodeMask > 30)
    throw new InvalidArgumentError(`--node-cidr-mask-size must be between ${cluster.prefix} and 30`);
  const service = parseCidr(o.serviceCidr);
  if (!service || service.prefix > 28)
    throw new InvalidArgumentError(`--service-cidr wants an IPv4 CIDR of at least 16 addresses, got ${o.serviceCidr}`);
  if (cidrContains(cluster, service.base) || cidrContains(service, cluster.base))
    throw new InvalidArgumentError('--service-cidr and --cluster-cidr overlap');
  const pr = /^(\d+)-(\d+)$/.exec(o.serviceNodePortRange);
  const nodePortRange = pr ? { min: Number(pr[1]), max: Number(pr[2]) } : undefined;
  if (!nodePortRange || nodePortRange.min < 1 || nodePortRange.max > 65535 || nodePortRange.min > nodePortRange.max)
    throw new InvalidArgumentError(`--service-node-port-range wants MIN-MAX, got ${o.serviceNodePortRange}`);
  const dns = parseIPv4(o.clusterDns);
  if (dns === undefined || !cidrContains(service, dns))
    throw new InvalidArgumentError(`--cluster-dns must be an IPv4 address inside --service-cidr, got ${o.clusterDns}`);
  const controllersQps = Number(o.controllersQps);
  if (!/^\d+(\.\d+)?$/.test(o.controllersQps) || !Number.isFinite(controllersQps))
    throw new InvalidArgumentError(`--controllers-qps must be a non-negative number, got ${o.controllersQps}`);
  const controllersBurst = Number(o.controllersBurst);
  if (!/^\d+$/.test(o.controllersBurst) || controllersBurst < 1 || controllersBurst > 1_000_000)
    throw new InvalidArgumentError(
      `--controllers-burst must be an integer between 1 and 1000000, got ${o.controllersBurst}`,
    );
  const rate = (flag: string, v: string, max = Infinity) => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v) || !(n <= max))
      throw new InvalidArgumentError(`${flag} must be a number between 0 and ${max}, got ${v}`);
    return n;
  };
  const nodeEvictionRate = rate('--node-eviction-rate', o.nodeEvictionRate);
  const secondaryNodeEvictionRate = rate('--secondary-node-eviction-rate', o.secondaryNodeEvictionRate);
  const unhealthyZoneThreshold = rate('--unhealthy-zone-threshold', o.unhealthyZoneThreshold, 1);
  const largeClusterSizeThreshold = rate('--large-cluster-size-threshold', o.largeClusterSizeThreshold);
  if (!Number.isInteger(largeClusterSizeThreshold))
    throw new InvalidArgumentError(
      `--large-cluster-size-threshold must be an integer, got ${o.largeClusterSizeThreshold}`,
    );
  const count = (flag: string, v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${flag} must be a non-negative integer, got ${v}`);
    return Number(v);
  };
  const auditLogMaxSizeMb = count('--audit-log-maxsize', o.auditLogMaxsize);
  const auditLogMaxBackup = count('--audit-log-maxbackup', o.auditLogMaxbackup);
  const clusterSigningDurationMs = parseDuration(o.clusterSigningDuration);
  if (!(clusterSigningDurationMs >= 600_000))
    throw new InvalidArgumentError('--cluster-signing-duration must be at least 10m');
  const datastore =
    o.datastoreEndpoint !== undefined
      ? {
          endpoints: parseDatastoreEndpoints(o.datastoreEndpoint),
          caFile: o.datastoreCafile,
          certFile: o.datastoreCertfile,
          keyFile: o.datastoreKeyfile,
        }
      : undefined;
  if (!datastore && (o.datastoreCafile || o.datastoreCertfile || o.datastoreKeyfile))
    throw new InvalidArgumentError('--datastore-cafile/-certfile/-keyfile need --datastore-endpoint');
  if (o.token !== undefined && o.tokenFile !== undefined)
    throw new InvalidArgumentError('--token and --token-file: give one of them');
  if (o.token !== undefined && !validToken(o.token.trim()))
    throw new InvalidArgumentError(
      '--token wants K10<ca hash>::<user>:<secret> or a secret alone: printable characters without spaces',
    );
  if (o.snapshotSchedule !== undefined) parseCron(o.snapshotSchedule);
  const snapshotRetention = count('--snapshot-retention', o.snapshotRetention);
  if (snapshotRetention < 1) throw new InvalidArgumentError('--snapshot-retention must be at least 1');
  const duration = (flag: string, v: string) => {
    try {
      return parseDuration(v);
    } catch {
      throw new InvalidArgumentError(`${flag}: not a duration: ${v}`);
    }
  };
  const leaderElection = {
    leaseDurationMs: duration('--leader-elect-lease-duration', o.leaderElectLeaseDuration),
    renewDeadlineMs: duration('--leader-elect-renew-deadline', o.leaderElectRenewDeadline),
    retryPeriodMs: duration('--leader-elect-retry-period', o.leaderElectRetryPeriod),
  };
  const badTimings = validateTimings(leaderElection);
  if (badTimings) throw new InvalidArgumentError(`--leader-elect-*: ${badTimings}`);
  if (o.serverName !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(o.serverName))
    throw new InvalidArgumentError(`--server-name must be a lower-case DNS name, got ${o.serverName}`);
  return {
    serverName: o.serverName,
    leaderElect: o.leaderElect,
    leaderElection,
    datastore,
    token: o.token?.trim(),
    tokenFile: o.tokenFile,
    snapshotSchedule: o.snapshotSchedule,
    snapshotRetention,
    anonymousAuth: o.anonymousAuth,
    podSecurityDefault: o.podSecurityDefault,
    podSecurityExemptNamespaces: o.podSecurityExemptNamespaces
      ? o.podSecurityExemptNamespaces
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean)
      : undefined,
    auditLogPath: o.auditLogPath,
    auditPolicyFile: o.auditPolicyFile,
    auditLogMaxSizeMb,
    auditLogMaxBackup,
    clusterSigningDurationMs,
    nodeEvictionRate,
    secondaryNodeEvictionRate,
    unhealthyZoneThreshold,
    largeClusterSizeThreshold,
    controllersQps,
    controllersBurst,
    clusterCidr: o.clusterCidr,
    nodeCidrMaskSize: nodeMask,
    serviceCidr: o.serviceCidr,
    nodePortRange,
    clusterDns: o.clusterDns,
    clusterDomain: o.clusterDomain.replace(/\.$/, ''),
    secretsEncryption: o.secretsEncryption,
    nodeGracePeriodMs: parseDuration(o.nodeGracePeriod),
    eventTtlMs: parseDuration(o.eventTtl),
    defaultUnreachableTolerationSeconds: tol,
    schedulerStrategy: o.schedulerStrategy,
    schedulerProfiles,
    percentageOfNodesToScore: Number(o.percentageOfNodesToScore),
    dataDir: o.dataDir,
    host,
    port,
    advertiseAddress: o.advertiseAddress,
    tlsSans: o.tlsSan,
    tokenAuthFile: o.tokenAuthFile,
    serviceAccountIssuer: o.serviceAccountIssuer,
    apiAudiences: o.apiAudiences
      ? o.apiAudiences
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
      : undefined,
    authorizationMode: authorizationMode(o.authorizationMode),
    compactIntervalMs: parseDuration(o.compactInterval),
    compactRetain: retain,
    logLevel: o.logLevel,
  };
}
