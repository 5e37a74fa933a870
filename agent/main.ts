#!/usr/bin/env -S node --max-semi-space-size=2 --max-old-space-size=192
// skiff-agent, read top to bottom like k3s's agent run: runAgent calls one named start
// step after another (runtime and cgroups, pause image, pod network, Ingress, connection,
// pods, streams, volume requests, network state, runtime health), then starts the loops
// and connects. SIGTERM stops the agent and leaves pods running.
// Map of the code base: ARCHITECTURE.md, "The parts".
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { parseAgentArgs, type AgentConfig } from './config.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { detectCgroupSetup, type CgroupSetup } from './cgroups/detect.js';
import { removePodCgroups } from './cgroups/cleanup.js';
import { getPodQOS } from './cgroups/qos.js';
import { nodeConditions, nodeReport, type NodeConfig } from './node/node-info.js';
import { ServerConnection } from './connection/connection.js';
import { installCrashReporters } from '../proto/crash-report.js';
import { loadOrCreateNodeCredential } from './connection/node-credential.js';
import {
  ServerList,
  loadLearnedServers,
  saveLearnedServers,
  serversFromNetworkState,
} from './connection/server-list.js';
import { PodManager, storedPods, isStoredPod } from './pods/pod-manager.js';
import { PodStreamServer } from './pods/pod-streams.js';
import { BackOff } from './pods/backoff.js';
import { podDir } from './pods/volumes.js';
import { StatsSampler, startStatsReporter } from './node/stats-sampler.js';
import { AgentMetrics } from './metrics.js';
import type { Runtime, RuntimeInfo } from './runtime/types.js';
import { NetworkManager, POD_NETWORK } from './network/network-manager.js';
import { ClusterNetwork } from './network/cluster-network.js';
import { MessageRoutes } from './connection/message-routes.js';
import { IngressController } from './ingress/ingress-controller.js';
import type { KubeObject } from '../proto/meta.js';
import type { NodeReport, VolumeCreate, VolumeDelete } from '../proto/agent-protocol.js';
import { TokenManager } from './pods/token-manager.js';
import { ObjectCache } from './pods/object-cache.js';
import { LocalVolumes } from './storage/local-volumes.js';
import { handleVolumeRequest } from './storage/volume-requests.js';
import { SandboxPool } from './pods/sandbox-pool.js';

const FALLBACK_PAUSE_IMAGE = 'skiff.local/pause:3.10';
const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * What a hollow agent (scripts/bench/hollow.mjs, kubemark's idea) puts in place of this
 * machine: its runtime and node facts. With them the agent touches nothing of the host
 * (no cgroups, pod network, Ingress listeners or metrics endpoint); everything else —
 * connection, pod manager and workers, status, deletions, stats — is the real agent's.
 */
export interface AgentDeps {
  runtime: Runtime;
  nodeReport(cfg: NodeConfig, runtimeOk: boolean): Promise<NodeReport>;
  conditions(cfg: NodeConfig, runtimeOk: boolean): NodeReport['conditions'];
  log?: Logger;
}

export async function runAgent(cfg: AgentConfig, hollow?: AgentDeps): Promise<{ stop(): void }> {
  const log =
    hollow?.log?.child({ node: cfg.nodeName }) ??
    pino({ level: cfg.logLevel, base: { component: 'skiff-agent', node: cfg.nodeName } });
  const credential = openDataDir(cfg, log);
  const metrics = new AgentMetrics();
  const { runtime, node, cgroups } = await startRuntime(cfg, hollow, metrics, log);
  const pauseImage = await ensurePauseImage(runtime, cfg.pauseImage, log);
  const network = cfg.network === POD_NETWORK && !hollow ? startPodNetwork(cfg, runtime, log) : undefined;
  const ingress = hollow ? undefined : await startIngress(cfg, log);
  const routes = new MessageRoutes();
  const servers = new ServerList(cfg.servers, loadLearnedServers(cfg.dataDir));
  const conn = connectToServer(cfg, hollow, { servers, credential, node, routes, log });
  const clusterNetwork = new ClusterNetwork();
  const { pods, sandboxPool } = startPods(cfg, {
    runtime,
    conn,
    node,
    cgroups,
    network,
    clusterNetwork,
    pauseImage,
    metrics,
    routes,
    log,
  });
  routeStreams(routes, new PodStreamServer(runtime, pods, cfg.nodeName, (m) => conn.send(m), log));
  routeVolumeRequests(routes, new LocalVolumes(cfg.dataDir), conn, log);
  routeNetworkState(cfg, routes, { clusterNetwork, servers, network, ingress, log });
  const health = watchRuntimeHealth(runtime, node, pods, log);

  // everything is wired: start the loops, then connect
  pods.start();
  sandboxPool?.start();
  conn.start();
  const gauges = setInterval(() => {
    metrics.pods.set(pods.size);
    metrics.connected.set(conn.registered ? 1 : 0);
  }, 2000);
  gauges.unref();
  // usage for kubectl top and HPAs (metrics.k8s.io), every 10 s (metrics-server resolves 15 s)
  const stats = startStatsReporter(new StatsSampler(runtime, cfg.nodeName), (m) => conn.send(m));

  return {
    stop() {
      clearInterval(health);
      clearInterval(gauges);
      stats.stop();
      network?.stop();
      void ingress?.stop();
      conn.stop();
      pods.stop();
      sandboxPool?.stop();
    },
  };
}

/** what the agent knows of its node while it runs: the runtime's health drives the Ready condition */
interface NodeState {
  cfg: NodeConfig;
  info: RuntimeInfo;
  runtimeOk: boolean;
  /** the node's InternalIP, as the last registration reported it */
  hostIP: string;
}

/** the data dir, and this node's own credential in it: made on the first start, presented on every (re)connect */
function openDataDir(cfg: AgentConfig, log: Logger): string {
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const nodeCredential = loadOrCreateNodeCredential(cfg.dataDir, (msg) => log.warn(msg));
  if (nodeCredential.created) log.info({ path: nodeCredential.path }, 'node credential created');
  return nodeCredential.credential;
}

/** 1. the container runtime (Docker, or the hollow agent's) with its errors counted, and the cgroup layout */
async function startRuntime(
  cfg: AgentConfig,
  hollow: AgentDeps | undefined,
  metrics: AgentMetrics,
  log: Logger,
): Promise<{ runtime: Runtime; node: NodeState; cgroups?: CgroupSetup }> {
  const runtime = countErrors(
    hollow?.runtime ??
      new DockerRuntime({ socketPath: cfg.dockerHost, pauseImage: cfg.pauseImage, defaultNetwork: cfg.network }),
    metrics,
  );
  if (cfg.metricsBindAddress && !hollow)
    metrics.serve(cfg.metricsBindAddress, (err) => log.warn({ err: err.message }, 'metrics endpoint unavailable'));
  const info = await runtime.info();
  const cgroups = hollow ? undefined : await detectCgroupSetup(runtime);
  log.info(
    { docker: info.version, cgroupDriver: cgroups?.driver, cgroupVersion: cgroups?.layout.version },
    'container runtime ready',
  );
  const nodeCfg: NodeConfig = {
    name: cfg.nodeName,
    nodeIp: cfg.nodeIp,
    labels: cfg.nodeLabels,
    taints: cfg.taints,
    systemReserved: cfg.systemReserved,
    dataDir: cfg.dataDir,
    serverUrl: cfg.server,
    maxPods: cfg.maxPods,
  };
  return {
    runtime,
    node: { cfg: nodeCfg, info, runtimeOk: true, hostIP: cfg.nodeIp ?? '' },
    ...(cgroups ? { cgroups } : {}),
  };
}

/** 2. the sandbox image: the configured one, or the offline one when no registry answers */
async function ensurePauseImage(runtime: Runtime, wanted: string, log: Logger): Promise<string> {
  try {
    await runtime.ensureImage(wanted, 'IfNotPresent');
    return wanted;
  } catch (err) {
    try {
      await runtime.ensureImage(FALLBACK_PAUSE_IMAGE, 'Never');
      log.warn(
        { wanted, using: FALLBACK_PAUSE_IMAGE, err: errorMessage(err) },
        'pause image unavailable, using the local one',
      );
      return FALLBACK_PAUSE_IMAGE;
    } catch {
      log.error(
        { err: errorMessage(err) },
        `cannot get the pause image ${wanted}; pods will not start until it can be pulled`,
      );
      return wanted;
    }
  }
}

/** 3. the pod network (bridge, routes, service proxy, DNS) when skiff manages it */
function startPodNetwork(cfg: AgentConfig, runtime: Runtime, log: Logger): NetworkManager {
  return new NetworkManager({
    runtime,
    node: cfg.nodeName,
    log: log.child({ component: 'network' }),
    resolvConf: cfg.resolvConf,
  });
}

/** 4. the built-in Ingress controller (HTTP/HTTPS reverse proxy), whatever the network mode */
async function startIngress(cfg: AgentConfig, log: Logger): Promise<IngressController> {
  const ingress = new IngressController({
    httpPort: cfg.ingressHttpPort,
    httpsPort: cfg.ingressHttpsPort,
    dataDir: cfg.dataDir,
    nodeName: cfg.nodeName,
    log: log.child({ component: 'ingress' }),
  });
  await ingress.start();
  return ingress;
}

/** 5. the connection to the API servers (started last): registration, heartbeats, the server's messages to `routes` */
function connectToServer(
  cfg: AgentConfig,
  hollow: AgentDeps | undefined,
  o: { servers: ServerList; credential: string; node: NodeState; routes: MessageRoutes; log: Logger },
): ServerConnection {
  const { node } = o;
  return new ServerConnection({
    servers: o.servers,
    token: cfg.token,
    log: o.log,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    credential: o.credential,
    register: async () => {
      const r = hollow
        ? await hollow.nodeReport(node.cfg, node.runtimeOk)
        : await nodeReport(node.cfg, { version: node.info.version, conditionsReady: node.runtimeOk });
      node.hostIP = r.addresses.find((a) => a.type === 'InternalIP')?.address ?? node.hostIP;
      return r;
    },
    conditions: () =>
      hollow
        ? hollow.conditions(node.cfg, node.runtimeOk)
        : nodeConditions(node.cfg, {
            conditionsReady: node.runtimeOk,
            readyMessage: 'container runtime is down: Docker Engine does not answer',
          }),
    onMessage: (m) => o.routes.deliver(m),
  });
}

interface PodsDeps {
  runtime: Runtime;
  conn: ServerConnection;
  node: NodeState;
  cgroups?: CgroupSetup;
  network?: NetworkManager;
  clusterNetwork: ClusterNetwork;
  pauseImage: string;
  metrics: AgentMetrics;
  routes: MessageRoutes;
  log: Logger;
}

/** 6. the node's pods: ConfigMaps/Secrets/claims and tokens through the server, the sandbox pool, the pod manager and its messages */
function startPods(cfg: AgentConfig, o: PodsDeps): { pods: PodManager; sandboxPool?: SandboxPool } {
  const { conn, cgroups, network, log } = o;
  // ConfigMaps and Secrets of the node's pods, read through the server (which checks the node may)
  // (and the PersistentVolumeClaims of the pods' volumes with the PersistentVolumes bound to them)
  const objects = new ObjectCache((kind, namespace, name) => conn.getObject(kind, namespace, name));
  // ServiceAccount tokens of projected volumes, bound to the pod, renewed at 80 % of their life
  const tokens = new TokenManager((r) => conn.requestToken(r), Date.now, { refreshScale: cfg.tokenRefreshTestScale });
  if (cfg.tokenRefreshTestScale !== 1)
    log.warn(
      { scale: cfg.tokenRefreshTestScale },
      'TESTS ONLY: --token-refresh-test-scale renews ServiceAccount tokens sooner than kubelet would',
    );
  const ref = (p: KubeObject) => ({
    namespace: p.metadata.namespace ?? '',
    name: p.metadata.name ?? '',
    uid: p.metadata.uid ?? '',
  });
  // ready sandboxes for new pods to adopt (--sandbox-pool)
  const sandboxPool =
    cfg.sandboxPool > 0
      ? new SandboxPool({
          runtime: o.runtime,
          node: cfg.nodeName,
          size: cfg.sandboxPool,
          pauseImage: o.pauseImage,
          network: cfg.network,
          log: log.child({ component: 'sandbox-pool' }),
          ...(network ? { networkNotReady: () => network.notReady() } : {}),
        })
      : undefined;
  const pods = new PodManager(o.runtime, {
    runtime: o.runtime,
    node: cfg.nodeName,
    hostIP: () => o.node.hostIP,
    dataDir: cfg.dataDir,
    pauseImage: o.pauseImage,
    network: cfg.network,
    ...(network ? { dns: (pod: KubeObject) => network.podDns(pod), networkNotReady: () => network.notReady() } : {}),
    backoff: new BackOff(),
    log,
    metrics: o.metrics,
    objects,
    services: () => o.clusterNetwork.services(),
    tokens,
    sandboxPool,
    report: (pod, status) => {
      conn.send({ type: 'podStatus', pod: ref(pod), status });
    },
    event: (pod, type, reason, message, fieldPath) => {
      conn.send({
        type: 'event',
        involvedObject: {
          kind: 'Pod',
          apiVersion: 'v1',
          namespace: pod.metadata.namespace,
          name: pod.metadata.name ?? '',
          uid: pod.metadata.uid ?? '',
          ...(fieldPath ? { fieldPath } : {}),
        },
        eventType: type,
        reason,
        message: message.slice(0, 4096),
      });
    },
    terminated: (pod) => {
      conn.send({ type: 'podTerminated', pod: ref(pod) });
    },
    cleanupCgroups: async (pod) => {
      const uid = pod.metadata.uid;
      if (cgroups && uid) await removePodCgroups(cgroups.layout, cgroups.driver, uid, getPodQOS(pod));
    },
    cleanupOrphanCgroups: async (uid) => {
      if (cgroups) await removePodCgroups(cgroups.layout, cgroups.driver, uid);
      // and the pod's dir (volumes) of a pod deleted while the agent was away
      if (/^[A-Za-z0-9-]+$/.test(uid)) rmSync(podDir(cfg.dataDir, uid), { recursive: true, force: true });
    },
  });
  // the server sends stored Pods; one without a spec is not one (kept from the workers)
  o.routes.on('pods', (m) => pods.setPods(storedPods(m.pods)));
  o.routes.on('podUpsert', (m) => {
    if (isStoredPod(m.pod)) pods.upsert(m.pod);
  });
  o.routes.on('podDelete', (m) => pods.deleteByRef(m.pod));
  return { pods, ...(sandboxPool ? { sandboxPool } : {}) };
}

/** 7. exec, attach, logs and port-forward streams the server relays */
function routeStreams(routes: MessageRoutes, streams: PodStreamServer): void {
  routes.on('streamOpen', (m) => streams.handle(m));
  routes.on('streamInput', (m) => streams.handle(m));
  routes.on('streamClose', (m) => streams.handle(m));
}

/** 8. the local-path provisioner's directories (only under a storage base, only those made here) */
function routeVolumeRequests(
  routes: MessageRoutes,
  localVolumes: LocalVolumes,
  conn: ServerConnection,
  log: Logger,
): void {
  const handle = (m: VolumeCreate | VolumeDelete) => {
    void handleVolumeRequest(localVolumes, m, log).then((r) => conn.send(r));
  };
  routes.on('volumeCreate', handle);
  routes.on('volumeDelete', handle);
}

/** 9. the cluster network state: Services for the pods, API servers learned from the default/kubernetes endpoints, the pod network and Ingress rules */
function routeNetworkState(
  cfg: AgentConfig,
  routes: MessageRoutes,
  o: {
    clusterNetwork: ClusterNetwork;
    servers: ServerList;
    network?: NetworkManager;
    ingress?: IngressController;
    log: Logger;
  },
): void {
  const { servers, log } = o;
  routes.on('network', (m) => {
    o.clusterNetwork.set(m);
    if (servers.learn(serversFromNetworkState(m))) {
      log.info({ servers: servers.all() }, 'servers learned from the default/kubernetes endpoints');
      try {
        saveLearnedServers(cfg.dataDir, servers.learnedServers());
      } catch (err) {
        log.warn({ err }, 'cannot keep the server list');
      }
    }
    o.network?.apply(m);
    o.ingress?.apply(m);
  });
}

/** 10. the runtime's health, every 5 s: Docker back after being down (restarted: what ran is stopped now) relists every pod at once */
function watchRuntimeHealth(runtime: Runtime, node: NodeState, pods: PodManager, log: Logger): NodeJS.Timeout {
  const health = setInterval(async () => {
    const wasOk = node.runtimeOk;
    try {
      node.info = await runtime.info();
      node.runtimeOk = true;
    } catch {
      node.runtimeOk = false;
    }
    if (wasOk && !node.runtimeOk) log.warn('container runtime does not answer: node not ready');
    if (!wasOk && node.runtimeOk) {
      log.info({ docker: node.info.version }, 'container runtime is back: relisting pods');
      pods.relist();
    }
  }, 5000);
  health.unref();
  return health;
}

/** the runtime, with every failed call counted in skiff_agent_runtime_errors_total */
function countErrors<T extends Runtime>(runtime: T, metrics: AgentMetrics): T {
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = v.apply(target, args);
        if (r instanceof Promise)
          r.catch((e: { reason?: string }) => metrics.runtimeErrors.inc({ reason: e?.reason ?? 'RuntimeError' }));
        return r;
      };
    },
  });
}

async function main(): Promise<void> {
  installCrashReporters('skiff-agent');
  let cfg: AgentConfig;
  try {
    cfg = parseAgentArgs(process.argv.slice(2));
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('commander.'))
      process.exit((e as { exitCode?: number }).exitCode ?? 2);
    process.stderr.write(`skiff-agent: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const agent = await runAgent(cfg);
  const shutdown = (sig: string) => {
    process.stderr.write(`skiff-agent: ${sig}, stopping (pods keep running)\n`);
    agent.stop();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// run as the skiff-agent command, not when imported (the hollow agents reuse runAgent)
const entry = (() => {
  try {
    return realpathSync(process.argv[1] ?? '');
  } catch {
    return '';
  }
})();
if (entry === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`skiff-agent: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
