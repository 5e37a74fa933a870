#!/usr/bin/env -S node --max-semi-space-size=2 --max-old-space-size=192
// skiff-agent, read top to bottom like k3s's agent run: flags, runtime, cgroups,
// node facts, connection, pods. SIGTERM stops the agent and leaves pods running.
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { parseAgentArgs, type AgentConfig } from './config.js';
import { DockerRuntime } from './runtime/docker-runtime.js';
import { detectCgroupSetup } from './cgroups/detect.js';
import { removePodCgroups } from './cgroups/cleanup.js';
import { getPodQOS } from './cgroups/qos.js';
import { nodeConditions, nodeReport, type NodeConfig } from './node/node-info.js';
import { ServerConnection } from './connection/connection.js';
import { installCrashReporters } from '../proto/crash-report.js';
import { loadOrCreateNodeCredential } from './connection/node-credential.js';
import { ServerList, loadLearnedServers, saveLearnedServers, serversFromNetworkState } from './connection/server-list.js';
import { PodManager } from './pods/pod-manager.js';
import { PodStreamServer } from './pods/pod-streams.js';
import { BackOff } from './pods/backoff.js';
import { podDir } from './pods/volumes.js';
import { StatsSampler, startStatsReporter } from './node/stats-sampler.js';
import { AgentMetrics } from './metrics.js';
import type { Runtime } from './runtime/types.js';
import { NetworkManager, POD_NETWORK } from './network/network-manager.js';
import { IngressController } from './ingress/ingress-controller.js';
import type { KubeObject } from '../proto/meta.js';
import type { NetworkState, NodeReport } from '../proto/agent-protocol.js';
import { TokenManager } from './pods/token-manager.js';
import { ObjectCache } from './pods/object-cache.js';
import { LocalVolumes } from './storage/local-volumes.js';
import { handleVolumeRequest } from './storage/volume-requests.js';
import { SandboxPool } from './pods/sandbox-pool.js';

const FALLBACK_PAUSE_IMAGE = 'skiff.local/pause:3.10';

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
  const log = hollow?.log?.child({ node: cfg.nodeName }) ?? pino({ level: cfg.logLevel, base: { component: 'skiff-agent', node: cfg.nodeName } });
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  // this node's own credential: made on the first start, presented on every (re)connect
  const nodeCredential = loadOrCreateNodeCredential(cfg.dataDir, (msg) => log.warn(msg));
  if (nodeCredential.created) log.info({ path: nodeCredential.path }, 'node credential created');

  // 1. container runtime and cgroups
  const metrics = new AgentMetrics();
  const runtime = countErrors(hollow?.runtime ?? new DockerRuntime({ socketPath: cfg.dockerHost, pauseImage: cfg.pauseImage, defaultNetwork: cfg.network }), metrics);
  if (cfg.metricsBindAddress && !hollow) metrics.serve(cfg.metricsBindAddress, (err) => log.warn({ err: err.message }, 'metrics endpoint unavailable'));
  let info = await runtime.info();
  const cgroups = hollow ? undefined : await detectCgroupSetup(runtime);
  log.info({ docker: info.version, cgroupDriver: cgroups?.driver, cgroupVersion: cgroups?.layout.version }, 'container runtime ready');

  // 2. the sandbox image: the configured one, or the offline one when no registry answers
  let pauseImage = cfg.pauseImage;
  try {
    await runtime.ensureImage(pauseImage, 'IfNotPresent');
  } catch (err) {
    try {
      await runtime.ensureImage(FALLBACK_PAUSE_IMAGE, 'Never');
      log.warn({ wanted: pauseImage, using: FALLBACK_PAUSE_IMAGE, err: (err as Error).message }, 'pause image unavailable, using the local one');
      pauseImage = FALLBACK_PAUSE_IMAGE;
    } catch {
      log.error({ err: (err as Error).message }, `cannot get the pause image ${pauseImage}; pods will not start until it can be pulled`);
    }
  }

  // 3. node facts; runtime health drives the Ready condition
  const nodeCfg: NodeConfig = { name: cfg.nodeName, nodeIp: cfg.nodeIp, labels: cfg.nodeLabels, taints: cfg.taints, systemReserved: cfg.systemReserved, dataDir: cfg.dataDir, serverUrl: cfg.server, maxPods: cfg.maxPods };
  let runtimeOk = true;
  let hostIP = cfg.nodeIp ?? '';
  const health = setInterval(async () => {
    const wasOk = runtimeOk;
    try { info = await runtime.info(); runtimeOk = true; } catch { runtimeOk = false; }
    if (wasOk && !runtimeOk) log.warn('container runtime does not answer: node not ready');
    if (!wasOk && runtimeOk) {
      // Docker is back (restarted: what ran is stopped now): resync every pod at once
      log.info({ docker: info.version }, 'container runtime is back: relisting pods');
      pods.relist();
    }
  }, 5000);
  health.unref();

  // 4. the pod network (bridge, routes, service proxy, DNS) when skiff manages it
  const network = cfg.network === POD_NETWORK && !hollow ? new NetworkManager({ runtime, node: cfg.nodeName, log: log.child({ component: 'network' }), resolvConf: cfg.resolvConf }) : undefined;

  // the built-in Ingress controller (HTTP/HTTPS reverse proxy), whatever the network mode
  const ingress = hollow ? undefined : new IngressController({ httpPort: cfg.ingressHttpPort, httpsPort: cfg.ingressHttpsPort, dataDir: cfg.dataDir, nodeName: cfg.nodeName, log: log.child({ component: 'ingress' }) });
  await ingress?.start();

  // 5. pods, connection, streams
  let conn: ServerConnection;
  // the latest cluster network state, whatever the network mode: Services for the containers' service link variables
  let networkState: NetworkState | undefined;
  const networkWaiters = new Set<() => void>();
  const services = async (): Promise<NetworkState['services'] | undefined> => {
    if (!networkState) {
      // it follows the pod set on registration: a container starting right then waits for it a little
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); networkWaiters.delete(done); resolve(); };
        const t = setTimeout(done, 5000);
        networkWaiters.add(done);
      });
    }
    return networkState?.services;
  };
  // ConfigMaps and Secrets of the node's pods, read through the server (which checks the node may)
  // (and the PersistentVolumeClaims of the pods' volumes with the PersistentVolumes bound to them)
  const objects = new ObjectCache((kind, namespace, name) => conn.getObject(kind, namespace, name));
  // ServiceAccount tokens of projected volumes, bound to the pod, renewed at 80 % of their life
  const tokens = new TokenManager((r) => conn.requestToken(r), Date.now, { refreshScale: cfg.tokenRefreshTestScale });
  if (cfg.tokenRefreshTestScale !== 1) log.warn({ scale: cfg.tokenRefreshTestScale }, 'TESTS ONLY: --token-refresh-test-scale renews ServiceAccount tokens sooner than kubelet would');
  const ref = (p: KubeObject) => ({ namespace: p.metadata.namespace!, name: p.metadata.name!, uid: p.metadata.uid! });
  const localVolumes = new LocalVolumes(cfg.dataDir);
  // ready sandboxes for new pods to adopt (--sandbox-pool)
  const sandboxPool = cfg.sandboxPool > 0 ? new SandboxPool({ runtime, node: cfg.nodeName, size: cfg.sandboxPool, pauseImage, network: cfg.network, log: log.child({ component: 'sandbox-pool' }), ...(network ? { networkNotReady: () => network.notReady() } : {}) }) : undefined;
  const pods = new PodManager(runtime, {
    runtime, node: cfg.nodeName, hostIP: () => hostIP, dataDir: cfg.dataDir, pauseImage, network: cfg.network,
    ...(network ? { dns: (pod: KubeObject) => network.podDns(pod), networkNotReady: () => network.notReady() } : {}),
    backoff: new BackOff(), log, metrics, objects, services, tokens, sandboxPool,
    report: (pod, status) => { conn.send({ type: 'podStatus', pod: ref(pod), status }); },
    event: (pod, type, reason, message, fieldPath) => {
      conn.send({ type: 'event', involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: pod.metadata.namespace, name: pod.metadata.name!, uid: pod.metadata.uid!, ...(fieldPath ? { fieldPath } : {}) }, eventType: type, reason, message: message.slice(0, 4096) });
    },
    terminated: (pod) => { conn.send({ type: 'podTerminated', pod: ref(pod) }); },
    cleanupCgroups: async (pod) => { if (cgroups) await removePodCgroups(cgroups.layout, cgroups.driver, pod.metadata.uid!, getPodQOS(pod as never)); },
    cleanupOrphanCgroups: async (uid) => {
      if (cgroups) await removePodCgroups(cgroups.layout, cgroups.driver, uid);
      // and the pod's dir (volumes) of a pod deleted while the agent was away
      if (/^[A-Za-z0-9-]+$/.test(uid)) rmSync(podDir(cfg.dataDir, uid), { recursive: true, force: true });
    },
  });
  const servers = new ServerList(cfg.servers, loadLearnedServers(cfg.dataDir));
  conn = new ServerConnection({
    servers, token: cfg.token, log, heartbeatIntervalMs: cfg.heartbeatIntervalMs, credential: nodeCredential.credential,
    register: async () => {
      const r = hollow ? await hollow.nodeReport(nodeCfg, runtimeOk) : await nodeReport(nodeCfg, { version: info.version, conditionsReady: runtimeOk });
      hostIP = r.addresses.find((a) => a.type === 'InternalIP')?.address ?? hostIP;
      return r;
    },
    conditions: () => hollow ? hollow.conditions(nodeCfg, runtimeOk) : nodeConditions(nodeCfg, { conditionsReady: runtimeOk, readyMessage: 'container runtime is down: Docker Engine does not answer' }),
    onMessage: (m) => {
      switch (m.type) {
        case 'pods': pods.setPods(m.pods as KubeObject[]); break;
        case 'podUpsert': pods.upsert(m.pod as KubeObject); break;
        case 'podDelete': pods.deleteByRef(m.pod); break;
        case 'streamOpen': case 'streamInput': case 'streamClose': streams.handle(m); break;
        // the local-path provisioner's directories (only under a storage base, only those made here)
        case 'volumeCreate': case 'volumeDelete':
          void handleVolumeRequest(localVolumes, m, log).then((r) => conn.send(r));
          break;
        case 'network':
          networkState = m;
          if (servers.learn(serversFromNetworkState(m))) {
            log.info({ servers: servers.all() }, 'servers learned from the default/kubernetes endpoints');
            try { saveLearnedServers(cfg.dataDir, servers.learnedServers()); } catch (err) { log.warn({ err }, 'cannot keep the server list'); }
          }
          for (const w of [...networkWaiters]) w();
          network?.apply(m);
          ingress?.apply(m);
          break;
      }
    },
  });
  const streams = new PodStreamServer(runtime, pods, cfg.nodeName, (m) => conn.send(m), log);
  pods.start();
  sandboxPool?.start();
  conn.start();
  const gauges = setInterval(() => { metrics.pods.set(pods.size); metrics.connected.set(conn.registered ? 1 : 0); }, 2000);
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

/** the runtime, with every failed call counted in skiff_agent_runtime_errors_total */
function countErrors<T extends Runtime>(runtime: T, metrics: AgentMetrics): T {
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = v.apply(target, args);
        if (r instanceof Promise) r.catch((e: { reason?: string }) => metrics.runtimeErrors.inc({ reason: e?.reason ?? 'RuntimeError' }));
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
    if ((e as { code?: string }).code?.startsWith('commander.')) process.exit((e as { exitCode?: number }).exitCode ?? 2);
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
const entry = (() => { try { return realpathSync(process.argv[1] ?? ''); } catch { return ''; } })();
if (entry === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    process.stderr.write(`skiff-agent: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
