// One skiff-server in this process: open the store, make or load certificates and tokens,
// seed the system namespaces, serve the API and the agents' gateway, run the scheduler,
// the controllers and compaction; stop() undoes it all. main.ts is the command line around
// it; tests run it in process (the fuzz suite).
// Map of the code base: ARCHITECTURE.md, "The flow of one pod".
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ServerConfig } from './config.js';
import { openBackend } from './store/open.js';
import { markDataDirInUse } from './snapshot/data-dir-lock.js';
import { startScheduledSnapshots } from './snapshot/scheduled-snapshots.js';
import { saveSnapshot } from './snapshot/snapshots.js';
import { openEncryptedStore } from './store/encrypting-store.js';
import { startCompactor } from './store/compactor.js';
import { ensurePki, desiredSans, writeKubeconfig } from './security/pki.js';
import { loadBootstrapData } from './security/bootstrap-sync.js';
import { ApiStorage } from './api/storage.js';
import { TokenAuthenticator, type UserInfo } from './api/auth.js';
import { buildApiServer, httpEdgeOf } from './api/server.js';
import { seedClusterServices, seedNamespaces, seedSystemPriorityClasses } from './bootstrap.js';
import { defaultRouteIPv4, isLoopback } from './host-address.js';
import { nthAddress, parseCidr } from '../proto/cidr.js';
import { AgentGateway } from './agents/gateway.js';
import { AgentVolumeHost } from './agents/volume-host.js';
import { NetworkPublisher } from './agents/network-publisher.js';
import { PodCidrAllocator } from './agents/pod-cidr-allocator.js';
import { PodStreamRelay } from './agents/pod-streams.js';
import { AgentLocator } from './agents/agent-locator.js';
import { installUpgradeGuard } from './agents/upgrade-guard.js';
import { PROTOCOL_PATH } from '../proto/agent-protocol.js';
import { Scheduler } from './scheduler/scheduler.js';
import { startControllers } from './controllers/index.js';
import { defaultTolerationSeconds } from './resources/pod-defaults.js';
import { ServerMetrics } from './metrics.js';
import { MetricsStore } from './api/metrics-api.js';
import { findResource } from './resources/index.js';
import { evictionAdmission } from './api/eviction-admission.js';
import { RbacAuthorizer, RbacCache } from './authz/authorizer.js';
import { reconcileBootstrapPolicy } from './authz/bootstrap-policy.js';
import { authorizeUpgrade } from './authz/http.js';
import { loadTokenFile } from './authz/token-file.js';
import { loadOrCreateSigningKey } from './serviceaccount/jwt.js';
import { InformerLookup } from './serviceaccount/lookup.js';
import { ServiceAccountTokens } from './serviceaccount/tokens.js';
import { installServiceAccountAdmission } from './serviceaccount/admission.js';
import { installPodSecurity, podSecurityConfig } from './admission/pod-security/hook.js';
import { issuePodToken } from './serviceaccount/routes.js';
import { requestClientCertificates } from './api/http-edge.js';
import { registerCertificateRoutes } from './certificates/routes.js';
import { startSignerController } from './certificates/signer-controller.js';
import { startCrdController } from './crd/crd-controller.js';
import { createAuditor } from './audit/auditor.js';
import { auditUpgrades } from './audit/upgrade.js';
import { inProcessAuditing, SCHEDULER_USER } from './audit/in-process.js';
import { LeaderOnly, type LeaderWork } from './leader/leader-only.js';
import { EndpointReconciler } from './peers/endpoint-reconciler.js';

export async function runServer(cfg: ServerConfig): Promise<{ stop(): Promise<void>; url: string }> {
  const log = pino({ level: cfg.logLevel, base: { component: 'skiff-server' } });
  // Pod Security admission's settings: an invalid --pod-security-default stops the start here
  const podSecurity = podSecurityConfig(cfg);
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  // the audit log first: a policy file that does not load stops the start here
  const audit = createAuditor(cfg, log.child({ component: 'audit' }));
  // controllers, the scheduler and agents write in-process, each under its own name in the audit log
  const actAs = inProcessAuditing(audit);

  defaultTolerationSeconds.notReady = defaultTolerationSeconds.unreachable = cfg.defaultUnreachableTolerationSeconds;
  // the pid file tells `skiff-server snapshot restore` that this data dir is in use
  const dataDirLock = markDataDirInUse(cfg.dataDir);
  const backend = await openBackend(cfg);
  try {
    // the CA, keys and tokens every server of the cluster shares: taken from (or put into) etcd
    await loadBootstrapData(backend, cfg, log.child({ component: 'bootstrap' }));
  } catch (e) {
    await backend.close();
    dataDirLock.release();
    throw e;
  }
  const store = await openEncryptedStore(backend, cfg.dataDir, { enabled: cfg.secretsEncryption, log });
  const storage = new ApiStorage(store, undefined, {
    network: { serviceCidr: cfg.serviceCidr, nodePortRange: cfg.nodePortRange },
  });
  const uninstallPodSecurity = installPodSecurity(store, podSecurity);
  await seedNamespaces(storage);
  await seedSystemPriorityClasses(storage);

  const advertise = cfg.advertiseAddress ?? (cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host);
  // the default/kubernetes Service's endpoint must be reachable from pods: never loopback
  // (kube-apiserver refuses one too); the machine's own address when nothing better is given
  const endpointIP = isLoopback(advertise) ? (defaultRouteIPv4() ?? advertise) : advertise;
  const kubernetesServiceIP = nthAddress(parseCidr(cfg.serviceCidr)!, 1);
  const sans = desiredSans([
    cfg.host !== '0.0.0.0' && cfg.host !== '::' ? cfg.host : '',
    advertise,
    endpointIP,
    kubernetesServiceIP,
    ...cfg.tlsSans,
  ]);
  const pki = await ensurePki(cfg.dataDir, sans);

  const auth = new TokenAuthenticator();
  auth.add(pki.adminToken, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
  // ServiceAccount tokens: ES256 JWTs signed with <data-dir>/sa.key, checked against watched objects
  const saLookup = new InformerLookup(storage, log.child({ component: 'serviceaccount-tokens' }));
  await saLookup.start();
  const saTokens = new ServiceAccountTokens({
    keys: [loadOrCreateSigningKey(cfg.dataDir)],
    issuer: cfg.serviceAccountIssuer,
    audiences: cfg.apiAudiences,
    lookup: saLookup,
  });
  auth.use((token) => saTokens.authenticate(token));
  const uninstallSaAdmission = installServiceAccountAdmission((ns, name) => saLookup.get('ServiceAccount', ns, name));
  let apiUrl = '';
  if (cfg.tokenAuthFile)
    log.info({ file: cfg.tokenAuthFile, tokens: loadTokenFile(cfg.tokenAuthFile, auth) }, 'static tokens loaded');
  // RBAC: Kubernetes' bootstrap roles reconciled, then watched by the authorizer's caches
  await reconcileBootstrapPolicy(storage);
  const rbacCache = new RbacCache(storage);
  await rbacCache.start();
  const authorizer = cfg.authorizationMode === 'AlwaysAllow' ? undefined : new RbacAuthorizer(rbacCache);

  const usage = new MetricsStore();
  const network = new NetworkPublisher(storage, cfg, log.child({ component: 'network' }));
  await network.start();
  const podCidrs = new PodCidrAllocator(
    storage,
    cfg.clusterCidr,
    cfg.nodeCidrMaskSize,
    log.child({ component: 'node-ipam' }),
  );
  const gateway = new AgentGateway({
    storage: storage.withFieldManager('kubelet'),
    joinSecret: pki.joinSecret,
    log: log.child({ component: 'agent-gateway' }),
    onStats: (node, m) => usage.update(node, m),
    network,
    podCidrs,
    // projected serviceAccountToken volumes: a TokenRequest bound to the pod
    issueToken: (r) => issuePodToken(storage, saTokens, r),
    actAs,
    // several servers: the Node says which server holds its agent (pod streams are relayed there)
    onAgentRegistered: (node) => {
      void locator?.registered(node);
    },
    // kubelet renews every 10 s (a quarter of its 40 s lease); a shorter grace period keeps the renewals within a quarter of it
    sessionLimits: { leaseRenewIntervalMs: Math.min(10_000, Math.floor(cfg.nodeGracePeriodMs / 4)) },
  });
  let locator: AgentLocator | undefined;
  const upgradeUsers = new WeakMap<IncomingMessage, UserInfo>();
  const relay = new PodStreamRelay(gateway, storage, auth, log, {
    peerFor: async (node) => locator?.peerFor(node),
    credentials: () => ({ ca: pki.caPem, token: pki.adminToken, self: locator?.selfUrl ?? '' }),
    upgradeUser: (req) => upgradeUsers.get(req),
  });
  const metrics = new ServerMetrics();
  audit?.registerMetrics(metrics.registry);
  let scheduler: Scheduler | undefined;
  const leaseDef = findResource('coordination.k8s.io', 'v1', 'leases')!;
  const beforeScrape = async () => {
    metrics.storeSize.set(await store.size());
    metrics.storeRevision.set(await store.currentRevision());
    metrics.compactedRevision.set(await store.compactedRevision());
    metrics.agents.set(gateway.connectedCount);
    metrics.heartbeatAge.reset();
    for (const l of (await storage.list(leaseDef, 'kube-node-lease')).items) {
      const t = Date.parse(l.spec?.renewTime ?? '');
      if (!Number.isNaN(t)) metrics.heartbeatAge.set({ node: l.metadata.name! }, (Date.now() - t) / 1000);
    }
    if (scheduler) {
      const c = scheduler.counters;
      metrics.schedulerAttempts.set({ result: 'scheduled' }, c.scheduled);
      metrics.schedulerAttempts.set({ result: 'unschedulable' }, c.unschedulable);
      metrics.schedulerAttempts.set({ result: 'error' }, c.errors);
      metrics.schedulerLatency.set(c.lastLatencyMs / 1000);
      metrics.preemptionAttempts.set(c.preemptionAttempts);
    }
  };
  // CustomResourceDefinitions: Established ones are served before the API answers
  const crds = await startCrdController(storage, log.child({ component: 'crd-controller' }));
  const app = await buildApiServer({
    storage,
    auth,
    logger: log,
    https: { key: pki.keyPem, cert: pki.certPem },
    caPem: pki.caPem,
    advertise: `${advertise}:${cfg.port}`,
    streams: relay,
    metrics,
    beforeScrape,
    usage,
    admitEviction: evictionAdmission(storage),
    authorizer,
    serviceAccounts: { tokens: saTokens, apiUrl: () => apiUrl },
    audit,
    anonymous: cfg.anonymousAuth,
  });
  // users: client certificates verified against <data-dir>/tls/client-ca.crt (asked for,
  // never required), CertificateSigningRequests and their signer (controlplane/certificates)
  requestClientCertificates(app.server, { key: pki.keyPem, cert: pki.certPem, clientCaPem: pki.clientCa.certPem });
  registerCertificateRoutes(app, { storage, authorizer });
  // WebSocket upgrades, all through one guard (upgrade-guard.ts): agents on
  // /agent/v1/connect (they authenticate there), kubectl exec/attach/port-forward after
  // the user's token is checked
  installUpgradeGuard(app.server, {
    auth,
    log: log.child({ component: 'upgrade' }),
    edge: httpEdgeOf(app),
    selfAuthenticating: [{ path: PROTOCOL_PATH, handler: gateway }],
    handlers: [relay],
    // audited as kube-apiserver's long-running requests (controlplane/audit/upgrade.ts)
    authorize: auditUpgrades(
      audit,
      authorizer
        ? (req, user) => {
            const u = authorizeUpgrade(authorizer, req.method ?? 'GET', req.url ?? '', req.headers, user);
            upgradeUsers.set(req, u);
            return u;
          }
        : undefined,
    ),
  });
  await app.listen({ host: cfg.host, port: cfg.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  // where other servers reach this one: the advertise address, or, when that is loopback
  // only because we listen everywhere, the default route's (as default/kubernetes says)
  const peerHost = isLoopback(advertise) && (cfg.host === '0.0.0.0' || cfg.host === '::') ? endpointIP : advertise;
  locator = new AgentLocator(
    storage,
    `https://${peerHost.includes(':') ? `[${peerHost}]` : peerHost}:${port}`,
    log.child({ component: 'agent-locator' }),
  );
  await seedClusterServices(storage, { ...cfg, port });
  // default/kubernetes lists every server whose identity Lease is live (kube-apiserver's lease reconciler)
  const serverName = cfg.serverName ?? hostname().toLowerCase();
  const endpointReconciler = new EndpointReconciler({
    storage,
    serverName,
    endpoint: isIPv4(endpointIP) ? { ip: endpointIP, port } : undefined,
    log: log.child({ component: 'endpoint-reconciler' }),
  });
  await endpointReconciler.start();
  const url = `https://${advertise.includes(':') ? `[${advertise}]` : advertise}:${port}`;
  apiUrl = url;
  const kubeconfig = writeKubeconfig(cfg.dataDir, url, pki);
  const compactor = startCompactor(store, cfg.compactIntervalMs, cfg.compactRetain, log);
  const snapshots = cfg.snapshotSchedule
    ? startScheduledSnapshots({
        dataDir: cfg.dataDir,
        schedule: cfg.snapshotSchedule,
        retention: cfg.snapshotRetention ?? 5,
        save: (file) => saveSnapshot(cfg, file),
        log: log.child({ component: 'snapshots' }),
      })
    : undefined;
  // the scheduler and the controller manager run on the holder of their Lease only (every
  // server serves the API and agents); their writes are fenced by the term (leader/leader-only.ts)
  const startScheduler = async (st: typeof storage): Promise<LeaderWork> => {
    const sch = new Scheduler(actAs(st.withFieldManager('kube-scheduler'), SCHEDULER_USER, 'kube-scheduler'), {
      strategy: cfg.schedulerStrategy,
      profiles: cfg.schedulerProfiles,
      percentageOfNodesToScore: cfg.percentageOfNodesToScore,
      log: log.child({ component: 'scheduler' }),
      onPreemption: (n) => metrics.preemptionVictims.observe(n),
    });
    await sch.start();
    scheduler = sch;
    return {
      stop() {
        sch.stop();
        if (scheduler === sch) scheduler = undefined;
      },
    };
  };
  const startControllerManager = async (st: typeof storage): Promise<LeaderWork> => {
    const controllers = await startControllers(st, log.child({ component: 'controllers' }), {
      nodeGracePeriodMs: cfg.nodeGracePeriodMs,
      nodeMonitorPeriodMs: 1000,
      eventTtlMs: cfg.eventTtlMs,
      controllersQps: cfg.controllersQps,
      controllersBurst: cfg.controllersBurst,
      disruption: {
        nodeEvictionRate: cfg.nodeEvictionRate,
        secondaryNodeEvictionRate: cfg.secondaryNodeEvictionRate,
        unhealthyZoneThreshold: cfg.unhealthyZoneThreshold,
        largeClusterSizeThreshold: cfg.largeClusterSizeThreshold,
      },
      nodeLifecycleMetrics: {
        zoneHealth: metrics.zoneHealth,
        zoneSize: metrics.zoneSize,
        unhealthyNodes: metrics.unhealthyNodes,
        evictions: metrics.nodeEvictions,
        fullDisruption: metrics.fullDisruption,
      },
      // local-path volumes are made and removed by the node's agent, never by the server
      volumeHost: new AgentVolumeHost(gateway),
      serviceAccounts: { caPem: pki.caPem, tokens: saTokens },
      actAs,
      podMetrics: usage,
    });
    // kube-controller-manager's csrsigning controller
    const csrSigner = startSignerController({
      storage: st,
      ca: pki.clientCa,
      durationMs: cfg.clusterSigningDurationMs,
      log: log.child({ component: 'csrsigning' }),
    });
    return {
      stop() {
        controllers.stop();
        csrSigner.stop();
      },
    };
  };
  const leaderWork: { stop(): Promise<void> }[] = [];
  if (cfg.leaderElect === false) {
    for (const w of [await startScheduler(storage), await startControllerManager(storage)])
      leaderWork.push({ stop: async () => w.stop() });
  } else {
    // one identity per server process for both Leases: <server name>_<uuid>, as kube-controller-manager's hostname_uuid
    const identity = `${serverName}_${randomUUID()}`;
    for (const [name, start] of [
      ['kube-scheduler', startScheduler],
      ['kube-controller-manager', startControllerManager],
    ] as const) {
      const elected = new LeaderOnly({
        storage,
        name,
        identity,
        timings: cfg.leaderElection,
        soleCandidate: !cfg.datastore,
        log: log.child({ component: 'leader-election' }),
        start,
        onStatus: (leading) => metrics.leaderStatus.set({ name }, leading ? 1 : 0),
      });
      await elected.start();
      leaderWork.push(elected);
    }
  }
  log.info({ url, kubeconfig, token: join(cfg.dataDir, 'token') }, 'skiff-server ready');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      compactor.stop();
      snapshots?.stop();
      // the leader's work stops and its Leases are released; this server leaves default/kubernetes
      await Promise.all(leaderWork.map((w) => w.stop()));
      await endpointReconciler.stop();
      crds.stop();
      rbacCache.stop();
      saLookup.stop();
      uninstallSaAdmission();
      uninstallPodSecurity();
      gateway.close();
      network.stop();
      await app.close();
      await audit?.close();
      await store.close();
      dataDirLock.release();
    })());
  return { stop, url };
}
