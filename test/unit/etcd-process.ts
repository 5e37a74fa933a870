// A real etcd for tests: Debian's etcd-server (/usr/bin/etcd) as a single-member cluster on
// free loopback ports with a temporary data dir, healthy before the promise resolves. A
// missing binary is a failure (scripts/test.sh installs etcd-server), never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.SKIFF_TEST_ETCD ?? '/usr/bin/etcd';
export const ETCDCTL_BIN = process.env.SKIFF_TEST_ETCDCTL ?? '/usr/bin/etcdctl';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface EtcdProcess {
  endpoint: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess;
  /** kill (SIGKILL) and remove the data dir unless keepData */
  stop(keepData?: boolean): Promise<void>;
  /** the last lines etcd wrote, for failure messages */
  output(): string;
}

/** start etcd; dataDir: an existing member's data (e.g. restored from a snapshot), else a fresh temp dir */
export async function startEtcd(
  opts: { dataDir?: string; name?: string; clientPort?: number; peerPort?: number } = {},
): Promise<EtcdProcess> {
  if (!existsSync(ETCD_BIN))
    throw new Error(`${ETCD_BIN} is missing: install Debian's etcd-server (scripts/test.sh does)`);
  const dataDir = opts.dataDir ?? join(mkdtempSync(join(tmpdir(), 'skiff-etcd-')), 'member-data');
  const name = opts.name ?? 'skiff-test';
  for (let attempt = 0; ; attempt++) {
    const [client, peer] = [opts.clientPort ?? (await freePort()), opts.peerPort ?? (await freePort())];
    const endpoint = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const proc = spawn(
      ETCD_BIN,
      [
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `${name}=${peerUrl}`,
        '--initial-cluster-state',
        'new',
        '--logger',
        'zap',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-8000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const stop = async (keepData = false) => {
      if (!exited) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await done;
      }
      if (!keepData) rmSync(opts.dataDir ? dataDir : join(dataDir, '..'), { recursive: true, force: true });
    };
    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.ok && ((await r.json()) as { health?: string }).health === 'true') {
          healthy = true;
          break;
        }
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (healthy) return { endpoint, clientPort: client, peerPort: peer, dataDir, proc, stop, output: () => out };
    await stop(true);
    // a port taken between freePort() and etcd's bind: try again on others
    if (attempt < 2 && opts.clientPort === undefined && /address already in use/.test(out)) continue;
    throw new Error(`etcd did not become healthy within 30 s:\n${out}`);
  }
}
