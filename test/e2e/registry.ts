// A private registry for e2e tests: Debian's docker-registry (distribution 2.8) with
// htpasswd (bcrypt) auth on a free loopback port, its config and storage in a temp dir.
// Docker pulls from 127.0.0.0/8 over plain HTTP (its default insecure range), so no TLS is
// needed. Images are pushed with the Docker CLI logged in through a private --config dir
// (the machine's ~/.docker is never touched). The registry's access log counts pulls.
// `slowProxy` puts a TCP proxy in front that holds each new connection for a while, so a
// pull lasts long enough for concurrent pods to meet in it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './harness.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const HTPASSWD_BIN = '/usr/bin/htpasswd';

/** the registry's packages are present; CI must have them (scripts/test.sh installs docker-registry and apache2-utils) */
export function registryAvailable(): boolean {
  if (existsSync(REGISTRY_BIN) && existsSync(HTPASSWD_BIN)) return true;
  if (process.env.SKIFF_REQUIRE_DOCKER === '1' || process.env.CI) {
    throw new Error(
      `${REGISTRY_BIN} or ${HTPASSWD_BIN} missing: apt-get install docker-registry apache2-utils (CI must not skip the registry tests)`,
    );
  }
  console.warn('\n!!! SKIPPING private registry e2e tests: install docker-registry and apache2-utils !!!\n');
  return false;
}

export interface TestRegistry {
  /** 127.0.0.1:<port> */
  host: string;
  user: string;
  password: string;
  /** the access log so far */
  log(): string;
  /** successful manifest fetches by tag (one per Docker pull of repo:tag) */
  manifestPulls(repo: string, tag: string): number;
  /** tag a local image as host/repo:tag, push it, and drop the local tag */
  push(localImage: string, repo: string, tag: string): void;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export async function startRegistry(user = 'alice', password = 's3cret'): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'htpasswd'), run(HTPASSWD_BIN, ['-Bbn', user, password]));
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  formatter: text',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      'auth:',
      '  htpasswd:',
      '    realm: skiff-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  let out = '';
  const proc: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}):\n${out}`);
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 401,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`docker-registry not answering on ${host}:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const dockerConfig = join(dir, 'docker-config');
  run('docker', ['--config', dockerConfig, 'login', '-u', user, '--password-stdin', host], password);
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    host,
    user,
    password,
    log: () => out,
    manifestPulls: (repo, tag) =>
      (out.match(new RegExp(`"(?:HEAD|GET) /v2/${esc(repo)}/manifests/${esc(tag)} HTTP/1\\.1" 200 `, 'g')) ?? [])
        .length,
    push(localImage, repo, tag) {
      const name = `${host}/${repo}:${tag}`;
      run('docker', ['tag', localImage, name]);
      try {
        run('docker', ['--config', dockerConfig, 'push', name]);
      } finally {
        spawnSync('docker', ['rmi', name], { encoding: 'utf8' });
      }
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** a TCP proxy on a free loopback port that connects each client to `target` only after `delayMs` */
export async function slowProxy(target: string, delayMs: number): Promise<{ host: string; close(): Promise<void> }> {
  const [thost, tport] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    const t = setTimeout(() => {
      const up = connect(tport, thost, () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      sockets.add(up);
      const end = () => {
        client.destroy();
        up.destroy();
        sockets.delete(up);
        sockets.delete(client);
      };
      up.on('error', end);
      up.on('close', end);
      client.on('error', end);
      client.on('close', end);
    }, delayMs);
    client.on('close', () => {
      clearTimeout(t);
      sockets.delete(client);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
