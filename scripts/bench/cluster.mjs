// A throwaway skiff cluster on this machine for the benchmarks: a server on a random
// loopback port and agents on this machine's Docker, with the API (keep-alive HTTPS with
// the admin token) and the real kubectl wired to it, and a cleanup that leaves nothing:
// processes, the nodes' containers, and — when an agent owned this host's pod network —
// its bridge, chains and routes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..', '..');
// the flags the skiff-agent launcher runs node with (see agent/main.ts's first line)
export const AGENT_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=192'];
const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** `--name value` from the command line, or the default */
export function opt(name, dflt) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * nodes: their names; network: the agents' --network ('skiff' = the default pod network,
 * for one agent; 'bridge' where several agents share this host); agentArgs: extra flags;
 * serverArgs: extra skiff-server flags; serverNodeFlags: node's own (e.g. --cpu-prof).
 */
export async function startCluster({
  nodes,
  network = 'skiff',
  agentArgs = [],
  prefix = 'skiff-bench-',
  serverArgs = [],
  serverNodeFlags = [],
}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const procs = [
    spawn(
      process.execPath,
      [
        ...serverNodeFlags,
        join(root, 'dist/controlplane/main.js'),
        '--data-dir',
        join(dir, 'server'),
        '--listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'warn',
        ...serverArgs,
      ],
      { stdio: 'inherit' },
    ),
  ];
  for (let i = 0; i < 300 && !existsSync(join(dir, 'server/admin.kubeconfig')); i++) await sleep(100);
  const ca = readFileSync(join(dir, 'server/tls/server-ca.crt'));
  const token = readFileSync(join(dir, 'server/admin-token'), 'utf8').trim();
  const agents = nodes.map((n) =>
    spawn(
      process.execPath,
      [
        ...AGENT_FLAGS,
        join(root, 'dist/agent/main.js'),
        '--server',
        `https://127.0.0.1:${port}`,
        '--token-file',
        join(dir, 'server/token'),
        '--node-name',
        n,
        '--data-dir',
        join(dir, n),
        '--pause-image',
        'skiff.local/pause:3.10',
        '--network',
        network,
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--log-level',
        'warn',
        ...agentArgs,
      ],
      { stdio: 'inherit' },
    ),
  );
  procs.push(...agents);
  const keepAlive = new Agent({ keepAlive: true, ca });

  /** one API call: { status, body, json } */
  const api = (method, path, body) =>
    new Promise((res, rej) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent: keepAlive,
          servername: 'localhost',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        },
        (r) => {
          let b = '';
          r.on('data', (d) => {
            b += d;
          });
          r.on('end', () => {
            let json;
            try {
              json = b ? JSON.parse(b) : undefined;
            } catch {
              /* not JSON */
            }
            res({ status: r.statusCode, body: b, json });
          });
        },
      );
      req.on('error', rej);
      if (body) req.write(JSON.stringify(body));
      req.end();
    });
  /** the real kubectl against this cluster (synchronous) */
  const kubectl = (args, input) =>
    spawnSync(
      KUBECTL,
      ['--kubeconfig', join(dir, 'server/admin.kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
      { encoding: 'utf8', input },
    );
  const ready = async (n) =>
    (await api('GET', `/api/v1/nodes/${n}`).catch(() => ({}))).json?.status?.conditions?.some(
      (c) => c.type === 'Ready' && c.status === 'True',
    );
  for (let i = 0; i < 300; i++) {
    if ((await Promise.all(nodes.map(ready))).every(Boolean)) break;
    await sleep(100);
  }

  const cleanup = async () => {
    for (const p of procs) p.kill('SIGKILL');
    for (const n of nodes) {
      const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=io.skiff.node=${n}`], {
        encoding: 'utf8',
      }).stdout.trim();
      if (ids) spawnSync('docker', ['rm', '-f', ...ids.split('\n')]);
    }
    if (network === 'skiff') {
      spawnSync('docker', ['network', 'rm', 'skiff']);
      const { removeAll, realExec } = await import(join(root, 'dist/agent/network/iptables.js'));
      await removeAll(realExec).catch(() => {});
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, port, ca, token, server: procs[0], agents, api, kubectl, cleanup };
}

/**
 * One watch on the default namespace's pods: `timed(name, create)` runs create() and
 * resolves with the milliseconds until the watch first sees that pod Running.
 */
export async function watchPodsRunning({ port, ca, token }) {
  const waiters = new Map();
  const seenRunning = new Map();
  await new Promise((resolveWatch) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/namespaces/default/pods?watch=true',
        agent: new Agent({ ca }),
        servername: 'localhost',
        headers: { Authorization: `Bearer ${token}` },
      },
      (r) => {
        let buf = '';
        r.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            const ev = JSON.parse(line);
            const name = ev.object?.metadata?.name;
            if (ev.object?.status?.phase === 'Running' && !seenRunning.has(name)) {
              seenRunning.set(name, performance.now());
              waiters.get(name)?.();
            }
          }
        });
        resolveWatch();
      },
    );
    req.end();
  });
  return {
    async timed(name, create) {
      const t0 = performance.now();
      const done = new Promise((r) => waiters.set(name, r));
      await create();
      await done;
      return seenRunning.get(name) - t0;
    },
  };
}
