// A private Docker engine for e2e tests that must stop and start "the" Docker daemon: the
// host's dockerd is shared by other tests running in parallel, so each test gets its own
// dockerd in a fresh network namespace (TOOLCHAIN.md, "Several nodes on one machine").
// The daemon is started with `nsenter --net=…` (never `ip netns exec`, which remounts
// /sys and hides the cgroup mounts), its own data root, exec root, pidfile and socket
// under a temp dir, and its own docker0 inside the namespace. It can be stopped (SIGTERM,
// as systemd would) and started again on the same data root: without --live-restore its
// containers come back as stopped. cleanup() removes containers, daemon, mounts, temp
// dir and namespace, whatever state the test left them in.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PrivateDockerd {
  /** network namespace name, skf-<rand> */
  readonly name: string;
  /** temp dir holding data root, exec root, socket, pidfile and the daemon's log */
  readonly dir: string;
  /** unix:///… for `docker -H` and `skiff-agent --docker-host` */
  readonly host: string;
  readonly running: boolean;
  /** the daemon's log (all runs) */
  log(): string;
  /** the docker CLI against this daemon */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): SpawnSyncReturns<string>;
  /** SIGTERM and wait for the daemon to exit (it stops its containers first, like a real restart) */
  stop(): Promise<void>;
  /** start the daemon again on the same data root and wait until `docker info` answers */
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

const TOOLS = ['ip', 'nsenter', 'dockerd', 'docker', 'umount'];

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** why this machine cannot run a private dockerd, or undefined when it can */
export function privateDockerdUnsupported(): string | undefined {
  if (process.platform !== 'linux') return `a private dockerd needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a private dockerd needs root (network namespaces, dockerd)';
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length) return `a private dockerd needs ${missing.join(', ')} on PATH (iproute2, util-linux, docker.io)`;
  return undefined;
}

/** true when a private dockerd can run; in CI (CI or SKIFF_REQUIRE_DOCKER=1) a missing piece fails the run */
export function privateDockerdAvailable(): boolean {
  const why = privateDockerdUnsupported();
  if (!why) return true;
  if (process.env.SKIFF_REQUIRE_DOCKER === '1' || process.env.CI) {
    throw new Error(`cannot run a private dockerd: ${why}. CI must not skip the Docker-restart e2e test`);
  }
  console.warn(`\n!!! SKIPPING Docker-restart e2e tests: ${why} !!!\n`);
  return false;
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 60_000 });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0)
    throw new Error(`${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim()}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mount points at or under dir, deepest first (from this process's mount table) */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** pids of processes started for this daemon (dockerd, its containerd, shims) that outlived it */
function leftoverPids(dir: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      // shims get the exec root (-address …/containerd.sock); dockerd/containerd the data or exec root
      if (cmd.includes(`${dir}/`)) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export async function startPrivateDockerd(
  opts: { images?: string[]; readyTimeoutMs?: number } = {},
): Promise<PrivateDockerd> {
  const rand = Math.random().toString(36).slice(2, 8);
  const name = `skf-${rand}`;
  // short: containerd's socket lives under the exec root and unix socket paths max out at 107 bytes
  const dir = mkdtempSync('/tmp/skf-');
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const logFile = join(dir, 'dockerd.log');
  const pidFile = join(dir, 'docker.pid');
  // the bridge lives only inside the namespace; a random 10.213.x.0/24 keeps it out of
  // anyone's way should a veth ever connect it to the host
  const bip = `10.213.${1 + Math.floor(Math.random() * 254)}.1/24`;
  let proc: ChildProcess | undefined;
  let netns = false;

  const docker = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    run('docker', ['-H', host, ...args], o);
  const alive = () => !!proc && proc.exitCode === null && proc.signalCode === null;

  async function start(): Promise<void> {
    if (alive()) return;
    rmSync(socket, { force: true });
    const fd = openSync(logFile, 'a');
    try {
      proc = spawn(
        'nsenter',
        [
          `--net=/run/netns/${name}`,
          'dockerd',
          '--data-root',
          join(dir, 'data'),
          '--exec-root',
          join(dir, 'exec'),
          '--pidfile',
          pidFile,
          '-H',
          host,
          '--bip',
          bip,
          '--log-level',
          process.env.SKIFF_DOCKERD_LOG_LEVEL ?? 'info',
          // nothing here may make containers survive the daemon: the test is about recovery
          '--live-restore=false',
        ],
        { stdio: ['ignore', fd, fd], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
    } finally {
      closeSync(fd);
    }
    const p = proc;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null)
        throw new Error(`private dockerd ${name} exited (${p.exitCode ?? p.signalCode}):\n${tail()}`);
      if (existsSync(socket) && docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 5000 }).status === 0)
        return;
      if (Date.now() > deadline)
        throw new Error(`private dockerd ${name} did not answer docker info in time:\n${tail()}`);
      await sleep(100);
    }
  }

  async function stop(): Promise<void> {
    const p = proc;
    if (!p || !alive()) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    // dockerd stops its containers (10 s each at most) within its 15 s shutdown timeout
    const t = setTimeout(() => {
      if (alive()) p.kill('SIGKILL');
    }, 30_000);
    await exited;
    clearTimeout(t);
  }

  function tail(): string {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  async function cleanup(): Promise<void> {
    const errors: string[] = [];
    try {
      if (alive()) {
        const ids = docker(['ps', '-aq'], { timeoutMs: 15_000 }).stdout?.trim();
        if (ids) docker(['rm', '-f', '-v', ...ids.split('\n')], { timeoutMs: 60_000 });
      }
      await stop();
    } catch (e) {
      errors.push(String(e));
    }
    for (const pid of leftoverPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // dockerd leaves overlay, nsfs and its own bind mount of the data root behind when
    // killed: lazily unmount everything below the temp dir before removing it
    for (let i = 0; i < 3; i++) {
      const m = mountsUnder(dir);
      if (!m.length) break;
      for (const point of m) run('umount', ['-l', point]);
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      errors.push(`rm ${dir}: ${String(e)}`);
    }
    if (netns) {
      const r = run('ip', ['netns', 'delete', name]);
      if (r.status !== 0 && existsSync(`/run/netns/${name}`))
        errors.push(`ip netns delete ${name}: ${r.stderr.trim()}`);
      netns = false;
    }
    if (errors.length) throw new Error(`private dockerd cleanup: ${errors.join('; ')}`);
  }

  const d: PrivateDockerd = {
    name,
    dir,
    host,
    get running() {
      return alive();
    },
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    docker,
    stop,
    start,
    cleanup,
  };

  try {
    must(run('ip', ['netns', 'add', name]), `ip netns add ${name}`);
    netns = true;
    must(run('ip', ['-n', name, 'link', 'set', 'lo', 'up']), 'ip link set lo up');
    await start();
    if (opts.images?.length) {
      // the offline images from the host engine: there is no registry to pull from
      const tar = join(dir, 'images.tar');
      must(
        run('docker', ['save', '-o', tar, ...opts.images], { timeoutMs: 120_000 }),
        `docker save ${opts.images.join(' ')}`,
      );
      must(docker(['load', '-q', '-i', tar], { timeoutMs: 120_000 }), 'docker load into the private dockerd');
      rmSync(tar, { force: true });
    }
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }
  return d;
}
