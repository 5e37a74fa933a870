// E2E harness: starts the built skiff-server as a real process on a temp data dir and
// drives it with the real kubectl. In CI (SKIFF_REQUIRE_KUBECTL=1) a missing kubectl
// fails the run; by hand, the suite skips loudly.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:https';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SERVER_BIN = join(ROOT, 'dist', 'controlplane', 'main.js');
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export function kubectlAvailable(): boolean {
  if (existsSync(KUBECTL)) return true;
  if (process.env.SKIFF_REQUIRE_KUBECTL === '1' || process.env.CI) {
    throw new Error(`kubectl not found at ${KUBECTL}: the API e2e tests need the real kubectl (CI must not skip them)`);
  }
  console.warn(`\n!!! SKIPPING kubectl e2e tests: ${KUBECTL} not found (set KUBECTL=...) !!!\n`);
  return false;
}

export function dockerAvailable(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  if (process.env.SKIFF_REQUIRE_DOCKER === '1' || process.env.CI) {
    throw new Error(
      `Docker engine not reachable (${(r.stderr || r.error?.message || '').trim()}): CI must not skip Docker e2e tests`,
    );
  }
  console.warn('\n!!! SKIPPING Docker e2e tests: no Docker engine reachable (run scripts/test.sh as root) !!!\n');
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export interface ServerProc {
  dataDir: string;
  port: number;
  url: string;
  kubeconfig: string;
  token: string;
  caPem: string;
  /** where the test reaches it (127.0.0.1 unless it runs on a simulated host) */
  address?: string;
  proc: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * listenHost: where the API listens (default 127.0.0.1; the URL and kubeconfig use 127.0.0.1
 * either way, unless `address` says where the test reaches it); prefix: a command in front
 * (nsenter into a simulated host's network namespace)
 */
export async function startServer(
  extraArgs: string[] = [],
  dataDir?: string,
  opts: { listenHost?: string; address?: string; prefix?: string[] } = {},
): Promise<ServerProc> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-e2e-'));
  const port = await freePort();
  let out = '';
  const launch = () => {
    const argv = [
      ...(opts.prefix ?? []),
      process.execPath,
      SERVER_BIN,
      '--data-dir',
      dir,
      '--listen',
      `${opts.listenHost ?? '127.0.0.1'}:${port}`,
      '--log-level',
      'warn',
      ...extraArgs,
    ];
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => {
      out += d;
    });
    p.stderr!.on('data', (d) => {
      out += d;
    });
    return p;
  };
  const s: ServerProc = {
    dataDir: dir,
    port,
    url: `https://${opts.address ?? '127.0.0.1'}:${port}`,
    kubeconfig: join(dir, 'admin.kubeconfig'),
    token: '',
    caPem: '',
    ...(opts.address ? { address: opts.address } : {}),
    proc: launch(),
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
      const done = new Promise((r) => s.proc.once('exit', r));
      s.proc.kill(signal);
      await done;
    },
    async restart() {
      await s.kill('SIGTERM');
      s.proc = launch();
      await waitReady(s);
    },
    async cleanup() {
      await s.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitReady(s);
  return s;
}

async function waitReady(s: ServerProc): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (s.proc.exitCode !== null) throw new Error(`skiff-server exited (${s.proc.exitCode}):\n${s.output()}`);
    if (existsSync(s.kubeconfig)) {
      try {
        s.caPem = readFileSync(join(s.dataDir, 'tls', 'server-ca.crt'), 'utf8');
        s.token = readFileSync(join(s.dataDir, 'admin-token'), 'utf8').trim();
        const r = await httpsRequest(s, 'GET', '/readyz', undefined, {});
        if (r.status === 200) return;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) throw new Error(`skiff-server not ready in 30s:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

export function httpsRequest(
  s: Pick<ServerProc, 'port' | 'caPem' | 'token' | 'address'>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  token: string | null = s.token,
): Promise<HttpResult> {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h: Record<string, string> = { Accept: 'application/json', ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (data !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
    const req = request(
      { host: s.address ?? '127.0.0.1', port: s.port, method, path, ca: s.caPem, servername: 'localhost', headers: h },
      (r) => {
        let b = '';
        r.setEncoding('utf8');
        r.on('data', (d) => {
          b += d;
        });
        r.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(b);
          } catch {
            json = undefined;
          }
          res({ status: r.statusCode ?? 0, headers: r.headers, body: b, json });
        });
      },
    );
    req.on('error', rej);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** run the real kubectl against the server, with a private discovery cache */
export function kubectl(
  s: ServerProc,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): KubectlResult {
  const r = spawnSync(KUBECTL, ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dataDir, 'kube-cache'), ...args], {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
    env: { ...process.env, HOME: s.dataDir },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** kubectl that must succeed */
export function k(s: ServerProc, args: string[], input?: string): string {
  const r = kubectl(s, args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** start kubectl in the background (for -w) */
export function kubectlBg(s: ServerProc, args: string[]): { proc: ChildProcess; out: () => string } {
  let out = '';
  const proc = spawn(KUBECTL, ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dataDir, 'kube-cache'), ...args], {
    env: { ...process.env, HOME: s.dataDir },
  });
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  return { proc, out: () => out };
}

export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 15_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const AGENT_BIN = join(ROOT, 'dist', 'agent', 'main.js');
export const BUSYBOX = 'skiff.local/busybox:1.36';
export const PAUSE = 'skiff.local/pause:3.10';

export interface AgentProc {
  node: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

/** start skiff-agent as a process against a server; the node name is unique per run */
export function startAgent(s: ServerProc, opts: { node?: string; args?: string[]; token?: string } = {}): AgentProc {
  const node = opts.node ?? `e2e-${Math.random().toString(36).slice(2, 8)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-agent-'));
  return agentProcess(
    node,
    dataDir,
    [],
    [
      '--server',
      s.url,
      '--token',
      opts.token ?? readFileSync(join(s.dataDir, 'token'), 'utf8').trim(),
      '--node-name',
      node,
      '--data-dir',
      dataDir,
      ...(opts.args ?? []),
    ],
  );
}

/**
 * skiff-agent as the launcher runs it (`prefix`, e.g. nsenter, goes in front), with the
 * test defaults (offline pause image, 1 s heartbeats); output kept, kill and restart with
 * the same arguments. Agents sharing this machine's network namespace and Docker cannot
 * each own the pod network (routes, iptables): they get Docker's bridge unless `args` ask
 * for another --network.
 */
export function agentProcess(
  node: string,
  dataDir: string,
  prefix: string[],
  args: string[],
  env?: NodeJS.ProcessEnv,
): AgentProc {
  const argv = [
    ...prefix,
    process.execPath,
    '--max-semi-space-size=2',
    AGENT_BIN,
    '--pause-image',
    PAUSE,
    '--heartbeat-interval',
    '1s',
    '--log-level',
    'info',
    ...(args.includes('--network') ? [] : ['--network', 'bridge']),
    // the Ingress listeners (80/443 by default) only where a test asks for them: many agents share this machine
    ...(args.includes('--ingress-http-port') ? [] : ['--ingress-http-port', '0']),
    ...(args.includes('--ingress-https-port') ? [] : ['--ingress-https-port', '0']),
    ...args,
  ];
  let out = '';
  const launch = () => {
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    p.stdout!.on('data', (d) => {
      out += d;
    });
    p.stderr!.on('data', (d) => {
      out += d;
    });
    return p;
  };
  const a: AgentProc = {
    node,
    dataDir,
    proc: launch(),
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
      const done = new Promise((r) => a.proc.once('exit', r));
      a.proc.kill(signal);
      await done;
    },
    async restart() {
      await a.kill('SIGKILL');
      a.proc = launch();
    },
  };
  return a;
}

/** remove every container an agent made for this node (tests label-isolate by node) */
export function removeNodeContainers(node: string): void {
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${node}`], {
    encoding: 'utf8',
  }).stdout.trim();
  if (ids) spawnSync('docker', ['rm', '-f', ...ids.split('\n')], { encoding: 'utf8' });
}
