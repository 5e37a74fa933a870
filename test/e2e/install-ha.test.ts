// scripts/install.sh for a second server: `install.sh server --datastore-endpoint …` twice,
// each into its own temp tree (SKIFF_CONFIG_DIR, SKIFF_DATA_DIR, …) against one real etcd,
// the second with SKIFF_TOKEN from the first's <data-dir>/token. The token reaches the
// daemon as --token-file (a 0600 file, never the command line or the env file), the second
// server holds the first's CA and admin token, and uninstall removes the token file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort, kubectl, type ServerProc } from './harness.js';
import { startEtcd, type EtcdProcess } from '../unit/etcd-process.js';

const INSTALL = join(ROOT, 'scripts', 'install.sh');

describe('install.sh server --datastore-endpoint: a second server joins with the token', () => {
  let etcd: EtcdProcess;
  const trees: string[] = [];
  const envOf = (tree: string): NodeJS.ProcessEnv => ({
    ...process.env,
    SKIFF_INSTALL_DIR: ROOT,
    SKIFF_SKIP_BUILD: '1',
    SKIFF_NO_SYSTEMD: '1',
    SKIFF_CONFIG_DIR: join(tree, 'etc'),
    SKIFF_DATA_DIR: join(tree, 'data'),
    SKIFF_RUN_DIR: join(tree, 'run'),
    SKIFF_LOG_DIR: join(tree, 'log'),
    SKIFF_UNIT_DIR: join(tree, 'units'),
  });
  const install = (tree: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync('bash', [INSTALL, ...args], {
      encoding: 'utf8',
      env: { ...envOf(tree), ...extra },
      timeout: 120_000,
    });
    return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  };
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    for (const t of trees) {
      install(t, ['uninstall', '--purge']);
      try {
        process.kill(Number(readFileSync(join(t, 'run', 'skiff-server.pid'), 'utf8')), 'SIGKILL');
      } catch {
        /* gone */
      }
      rmSync(t, { recursive: true, force: true });
    }
    await etcd?.stop();
  }, 120_000);

  it("passes --datastore-endpoint and the token through; the second server shares the first's CA and admin token", async () => {
    const [a, b] = [mkdtempSync(join(tmpdir(), 'skiff-install-ha-')), mkdtempSync(join(tmpdir(), 'skiff-install-ha-'))];
    trees.push(a, b);
    const [pa, pb] = [await freePort(), await freePort()];
    const first = install(a, [
      'server',
      '--datastore-endpoint',
      etcd.endpoint,
      '--',
      '--listen',
      `127.0.0.1:${pa}`,
      '--log-level',
      'warn',
    ]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(`install.sh server --datastore-endpoint ${etcd.endpoint}`);
    expect(existsSync(join(a, 'etc', 'server-token'))).toBe(false);
    const token = readFileSync(join(a, 'data', 'server', 'token'), 'utf8').trim();

    const second = install(
      b,
      ['server', '--datastore-endpoint', etcd.endpoint, '--', '--listen', `127.0.0.1:${pb}`, '--log-level', 'warn'],
      { SKIFF_TOKEN: token },
    );
    expect(second.code, second.out).toBe(0);
    const tokenFile = join(b, 'etc', 'server-token');
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const envFile = readFileSync(join(b, 'etc', 'skiff-server.env'), 'utf8');
    expect(envFile).toContain(`--token-file ${tokenFile}`);
    expect(envFile).not.toContain(token);
    for (const f of ['tls/server-ca.crt', 'admin-token', 'token']) {
      expect(readFileSync(join(b, 'data', 'server', f), 'utf8')).toBe(
        readFileSync(join(a, 'data', 'server', f), 'utf8'),
      );
    }
    // the first server's admin kubeconfig, sent to the second server
    const r = kubectl({ kubeconfig: join(a, 'data', 'server', 'admin.kubeconfig'), dataDir: a } as ServerProc, [
      '--server',
      `https://127.0.0.1:${pb}`,
      'get',
      'ns',
      'default',
      '-o',
      'name',
    ]);
    expect(r.stdout.trim(), r.stderr).toBe('namespace/default');

    const gone = install(b, ['uninstall', '--purge']);
    expect(gone.code, gone.out).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
  }, 150_000);
});
