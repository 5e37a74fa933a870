// Multi-host e2e helpers over scripts/hosts.sh: N simulated hosts h1..hN, each a network
// namespace on the bridge skiffbr0 (10.99.0.1/24) with its own dockerd, for tests that
// need several real nodes (routes between nodes, a node that dies, install.sh on a
// "machine"). The hosts are machine-wide (fixed names and addresses), so a test file
// holds an exclusive lock on them from hostsUp() until hostsDown(); other files wait.
// In CI (SKIFF_REQUIRE_DOCKER=1 or CI) missing prerequisites fail; by hand they skip loudly.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, agentProcess, startServer, type AgentProc, type ServerProc } from './harness.js';

export const HOSTS_SCRIPT = join(ROOT, 'scripts', 'hosts.sh');
/** the bridge's address in the host namespace: where hosts reach a server running here */
export const BRIDGE_IP = '10.99.0.1';
const LOCK = '/run/skiff-hosts.lock';

export interface Host {
  /** h1, h2, … (also the node name startHostAgent registers) */
  name: string;
  /** 10.99.0.(10+k) */
  ip: string;
  /** unix:///run/skiff-hosts/hK/docker.sock */
  dockerSocket: string;
  /** network namespace name, skiff-hK (/run/netns/skiff-hK) */
  netns: string;
}

const TOOLS = ['ip', 'nsenter', 'dockerd', 'docker', 'iptables', 'iptables-save', 'runc', 'setsid', 'flock', 'umount'];

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** why this machine cannot run simulated hosts, or undefined when it can */
export function hostsUnsupported(): string | undefined {
  if (process.platform !== 'linux') return `simulated hosts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'simulated hosts need root (network namespaces, bridges, dockerd)';
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length)
    return `simulated hosts need ${missing.join(', ')} on PATH (iproute2, util-linux, iptables, docker.io)`;
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `network namespaces are not usable: ${(r.stderr || r.error?.message || '').trim()}`;
  const d = spawnSync('docker', ['image', 'inspect', 'skiff.local/busybox:1.36', 'skiff.local/pause:3.10'], {
    encoding: 'utf8',
  });
  if (d.status !== 0) return 'the host engine lacks the test images (run scripts/build-test-images.sh)';
  return undefined;
}

/** true when hosts can run; in CI (CI or SKIFF_REQUIRE_DOCKER=1) a missing piece fails the run */
export function hostsAvailable(what = 'multi-host e2e tests'): boolean {
  const why = hostsUnsupported();
  if (!why) return true;
  if (process.env.SKIFF_REQUIRE_DOCKER === '1' || process.env.CI) {
    throw new Error(`cannot run simulated hosts: ${why}. CI must not skip the ${what}`);
  }
  console.warn(`\n!!! SKIPPING ${what}: ${why} !!!\n`);
  return false;
}

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    env: opts.env ?? process.env,
  });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0)
    throw new Error(
      `${what} failed (${r.status ?? r.signal}):\n${(r.stderr || r.error?.message || '').trim()}\n${(r.stdout ?? '').trim()}`,
    );
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function hostByIndex(k: number): Host {
  return {
    name: `h${k}`,
    ip: `10.99.0.${10 + k}`,
    dockerSocket: `unix:///run/skiff-hosts/h${k}/docker.sock`,
    netns: `skiff-h${k}`,
  };
}

// ---- the machine-wide lock: a `flock` child holding it while our stdin stays open, so
// the lock goes away with this process however it dies
let lockProc: ChildProcess | undefined;

async function acquireLock(timeoutMs: number): Promise<void> {
  if (lockProc && lockProc.exitCode === null) return;
  const p = spawn(
    'flock',
    ['-x', '-w', String(Math.ceil(timeoutMs / 1000)), LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  p.stderr!.on('data', (d) => {
    err += d;
  });
  await new Promise<void>((res, rej) => {
    p.stdout!.once('data', () => res());
    p.once('exit', (code) =>
      rej(new Error(`could not lock ${LOCK} (exit ${code}): another test holds the simulated hosts ${err.trim()}`)),
    );
  });
  lockProc = p;
}

function releaseLock(): void {
  const p = lockProc;
  lockProc = undefined;
  if (!p) return;
  p.stdin!.end();
  p.kill('SIGTERM');
}

/**
 * How long a file may wait for the hosts: another file may hold them for its whole run (the
 * control-plane outage file does for about six minutes). Hooks that call hostsUp use
 * HOSTS_HOOK_TIMEOUT_MS.
 */
export const HOSTS_LOCK_TIMEOUT_MS = 900_000;
export const HOSTS_HOOK_TIMEOUT_MS = HOSTS_LOCK_TIMEOUT_MS + 120_000;

/** bring up hosts h1..hN (scripts/hosts.sh up N) and hold them for this test file */
export async function hostsUp(n: number, opts: { lockTimeoutMs?: number } = {}): Promise<Host[]> {
  await acquireLock(opts.lockTimeoutMs ?? HOSTS_LOCK_TIMEOUT_MS);
  try {
    // a crashed earlier run may have left hosts behind: start from nothing
    must(run('bash', [HOSTS_SCRIPT, 'down']), 'hosts.sh down (before up)');
    must(run('bash', [HOSTS_SCRIPT, 'up', String(n)]), `hosts.sh up ${n}`);
    const listed = must(run('bash', [HOSTS_SCRIPT, 'list']), 'hosts.sh list')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name, ip, dockerSocket, netns] = l.split(' ');
        return { name: name!, ip: ip!, dockerSocket: dockerSocket!, netns: netns! };
      });
    const hosts = Array.from({ length: n }, (_, i) => hostByIndex(i + 1));
    for (const h of hosts) {
      const l = listed.find((x) => x.name === h.name);
      if (!l || l.ip !== h.ip || l.dockerSocket !== h.dockerSocket || l.netns !== h.netns)
        throw new Error(`hosts.sh list disagrees about ${h.name}: ${JSON.stringify(l)}`);
    }
    return hosts;
  } catch (e) {
    releaseLock();
    throw e;
  }
}

/** stop every agent started here, then scripts/hosts.sh down; safe to call twice */
export async function hostsDown(): Promise<void> {
  try {
    for (const list of agents.values()) for (const a of list) await a.kill('SIGKILL').catch(() => undefined);
    agents.clear();
    if (!lockProc) {
      // nothing of ours is up; do not tear down another file's hosts
      return;
    }
    must(run('bash', [HOSTS_SCRIPT, 'down'], { timeoutMs: 180_000 }), 'hosts.sh down');
  } finally {
    releaseLock();
  }
}

/** the docker CLI against a host's dockerd */
export function hostDocker(
  h: Host,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return run('docker', ['-H', h.dockerSocket, ...args], opts);
}

/** a command inside a host's network namespace (scripts/hosts.sh exec) */
export function hostExec(
  h: Host,
  cmd: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return run('bash', [HOSTS_SCRIPT, 'exec', h.name, '--', ...cmd], opts);
}

// ---- a server the hosts can reach

export interface HostServer extends ServerProc {
  /** https://10.99.0.1:PORT: the URL agents on the hosts use */
  hostsUrl: string;
}

/**
 * harness.startServer listening on every address (kubectl still uses 127.0.0.1) so agents
 * in the hosts reach it on the bridge address; the serving certificate gets 10.99.0.1 as
 * a SAN. No relay in the test process: a spawnSync kubectl there would freeze every
 * agent's connection. Call after hostsUp (the bridge address must exist).
 */
export async function startHostServer(extraArgs: string[] = []): Promise<HostServer> {
  const s = await startServer(['--tls-san', BRIDGE_IP, ...extraArgs], undefined, { listenHost: '0.0.0.0' });
  const hs = s as HostServer;
  hs.hostsUrl = `https://${BRIDGE_IP}:${s.port}`;
  return hs;
}

/**
 * skiff-server on a simulated host (`nsenter --net=` into its namespace), listening and
 * advertising on the host's address, which is also where the test reaches it; agents on the
 * other hosts reach it there too. kill -9 and restart act on it alone.
 */
export async function startServerOnHost(host: Host, extraArgs: string[] = []): Promise<ServerProc> {
  return startServer(['--advertise-address', host.ip, ...extraArgs], undefined, {
    listenHost: host.ip,
    address: host.ip,
    prefix: ['nsenter', `--net=/run/netns/${host.netns}`],
  });
}

// ---- agents on hosts

const agents = new Map<string, AgentProc[]>();

/**
 * skiff-agent on a host: `nsenter --net=/run/netns/skiff-hK node dist/agent/main.js` with
 * that host's dockerd, address and name (node name = host name unless --node-name is in
 * extraArgs). `--network bridge` (the agent's default today) unless extraArgs say otherwise.
 */
export function startHostAgent(
  server: Pick<ServerProc, 'dataDir'> & { hostsUrl?: string; url: string },
  host: Host,
  extraArgs: string[] = [],
): AgentProc {
  const url = server.hostsUrl ?? server.url;
  const token = readFileSync(join(server.dataDir, 'token'), 'utf8').trim();
  const dataDir = mkdtempSync(join(tmpdir(), `skiff-${host.name}-agent-`));
  const nodeIdx = extraArgs.indexOf('--node-name');
  const node = nodeIdx >= 0 ? extraArgs[nodeIdx + 1]! : host.name;
  const a = agentProcess(
    node,
    dataDir,
    ['nsenter', `--net=/run/netns/${host.netns}`],
    [
      '--server',
      url,
      '--token',
      token,
      '--node-name',
      host.name,
      '--node-ip',
      host.ip,
      '--docker-host',
      host.dockerSocket,
      '--data-dir',
      dataDir,
      ...extraArgs,
    ],
    { ...process.env, DOCKER_HOST: host.dockerSocket },
  );
  agents.set(host.name, [...(agents.get(host.name) ?? []), a]);
  return a;
}

/**
 * a dead machine: SIGKILL the host's agents, dockerd, containerd and containers, and take
 * its link down so nothing answers on its address. hostsDown() still cleans it up.
 */
export async function killHost(host: Host): Promise<void> {
  for (const a of agents.get(host.name) ?? []) await a.kill('SIGKILL').catch(() => undefined);
  must(run('bash', [HOSTS_SCRIPT, 'kill', host.name]), `hosts.sh kill ${host.name}`);
}

/** leftovers of scripts/hosts.sh on this machine (empty when everything is down) */
export function hostsLeftovers(): string[] {
  const out: string[] = [];
  const ns = run('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => /^skiff-h\d+$/.test(n));
  if (ns.length) out.push(`netns: ${ns.join(' ')}`);
  const links = run('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => /^\d+: ([^@:]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && (n === 'skiffbr0' || /^skh-h\d+$/.test(n)));
  if (links.length) out.push(`links: ${links.join(' ')}`);
  const chains = [...run('iptables-save', []).stdout.matchAll(/^:(SKIFF-HOSTS[A-Z0-9-]*)/gm)].map((m) => m[1]);
  if (chains.length) out.push(`iptables chains: ${chains.join(' ')}`);
  const procs = run('ps', ['-eo', 'pid=,args='])
    .stdout.split('\n')
    .filter((l) => /\/run\/skiff-hosts\/h\d+|\/var\/lib\/skiff-hosts\/h\d+/.test(l));
  if (procs.length) out.push(`processes: ${procs.map((p) => p.trim()).join(' | ')}`);
  for (const d of ['/run/skiff-hosts', '/var/lib/skiff-hosts']) {
    if (run('test', ['-e', d]).status === 0) out.push(`dir: ${d}`);
  }
  return out;
}

export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms: ${String((last as Error)?.message ?? last)}`);
    await sleep(200);
  }
}

/** best-effort: remove a dir we made */
export function rmrf(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}
