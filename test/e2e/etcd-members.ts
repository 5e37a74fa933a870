// etcd members on simulated hosts, installed as users install them (`scripts/install.sh
// etcd`, nohup, every path in a temp dir): member i on host i, the first making the CA,
// the others joining it with that CA. For the several-servers e2e tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.js';
import type { Host } from './hosts.js';

const INSTALL = join(ROOT, 'scripts', 'install.sh');

export class EtcdMembers {
  constructor(
    private readonly dir: string,
    private readonly hosts: Host[],
  ) {}

  private path(i: number, ...p: string[]): string {
    return join(this.dir, `m${i}`, ...p);
  }

  /** a file of the cluster's etcd PKI (ca.crt, client.crt, client.key), as member 1 made it */
  pki(f: string): string {
    return this.path(1, 'data', 'etcd', 'pki', f);
  }

  /** every member's client URL, comma-separated (--datastore-endpoint) */
  get endpoints(): string {
    return this.hosts.map((h) => `https://${h.ip}:2379`).join(',');
  }

  /** skiff-server's flags for this cluster (TLS with the client certificate install.sh issued) */
  serverFlags(): string[] {
    return [
      '--datastore-endpoint',
      this.endpoints,
      '--datastore-cafile',
      this.pki('ca.crt'),
      '--datastore-certfile',
      this.pki('client.crt'),
      '--datastore-keyfile',
      this.pki('client.key'),
    ];
  }

  install(i: number, args: string[]): { code: number; out: string } {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SKIFF_NO_SYSTEMD: '1',
      SKIFF_CONFIG_DIR: this.path(i, 'etc'),
      SKIFF_DATA_DIR: this.path(i, 'data'),
      SKIFF_RUN_DIR: this.path(i, 'run'),
      SKIFF_LOG_DIR: this.path(i, 'log'),
      SKIFF_UNIT_DIR: this.path(i, 'units'),
    };
    const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env, timeout: 180_000 });
    return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  /** install (or start again) member i (1-based) on host i */
  member(i: number): { code: number; out: string } {
    const h = this.hosts[i - 1]!;
    const join =
      i === 1 ? [] : ['--join', `https://${this.hosts[0]!.ip}:2379`, '--ca-dir', this.path(1, 'data', 'etcd', 'pki')];
    return this.install(i, ['etcd', '--name', `m${i}`, '--ip', h.ip, '--netns', h.netns, ...join]);
  }

  /** every member, one after another; throws with install.sh's output on a failure */
  installAll(): void {
    for (let i = 1; i <= this.hosts.length; i++) {
      const r = this.member(i);
      if (r.code !== 0) throw new Error(`install.sh etcd m${i}: ${r.out}`);
    }
  }

  kill(i: number): void {
    process.kill(Number(readFileSync(this.path(i, 'run', 'skiff-etcd.pid'), 'utf8').trim()), 'SIGKILL');
  }

  /** install.sh uninstall --purge for every member (warnings only) */
  uninstallAll(): void {
    for (let i = 1; i <= this.hosts.length; i++) {
      const r = this.install(i, ['uninstall', '--purge']);
      if (r.code !== 0) console.warn(`install.sh uninstall m${i}: ${r.out}`);
    }
  }
}
