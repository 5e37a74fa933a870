// Two skiff-servers on one real etcd share the cluster's bootstrap data: the second starts
// with an empty data dir and the first's token file, and then the real kubectl shows one
// cluster: A's admin kubeconfig works against B, a Secret written through A reads back
// through B, a ServiceAccount token A issued and a user certificate from A's client CA
// authenticate on B, an agent joins B with A's token. A server with the wrong token, or
// whose data dir holds other keys, exits non-zero with a clear message, writing nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SERVER_BIN,
  eventually,
  k,
  kubectl,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import { ETCDCTL_BIN, startEtcd, type EtcdProcess } from '../unit/etcd-process.js';

const SHARED = [
  'tls/server-ca.crt',
  'tls/server-ca.key',
  'tls/client-ca.crt',
  'tls/client-ca.key',
  'sa.key',
  'encryption-config.json',
  'admin-token',
  'join-secret',
  'token',
];

describe('several skiff-servers on one etcd share the bootstrap data', () => {
  let etcd: EtcdProcess;
  let a: ServerProc;
  let b: ServerProc;
  let agent: AgentProc | undefined;
  /** kubectl with A's admin kubeconfig, sent to B */
  const onB = (args: string[]) => k(a, ['--server', b.url, ...args]);
  beforeAll(async () => {
    etcd = await startEtcd();
    a = await startServer(['--datastore-endpoint', etcd.endpoint]);
    b = await startServer(['--datastore-endpoint', etcd.endpoint, '--token-file', join(a.dataDir, 'token')]);
  }, 60_000);
  afterAll(async () => {
    await agent?.kill('SIGKILL');
    if (agent) removeNodeContainers(agent.node);
    await b?.cleanup();
    await a?.cleanup();
    await etcd?.stop();
  });

  it('B took the shared files from the datastore and issued its own serving certificate', () => {
    for (const f of SHARED)
      expect(readFileSync(join(b.dataDir, f), 'utf8'), f).toBe(readFileSync(join(a.dataDir, f), 'utf8'));
    expect(readFileSync(join(b.dataDir, 'tls', 'serving.key'), 'utf8')).not.toBe(
      readFileSync(join(a.dataDir, 'tls', 'serving.key'), 'utf8'),
    );
    // in etcd: one key outside /registry/, sealed (no PEM, no token in the clear)
    const env = { ...process.env, ETCDCTL_API: '3' };
    const keys = execFileSync(
      ETCDCTL_BIN,
      ['--endpoints', etcd.endpoint, 'get', '--prefix', '/bootstrap/', '--keys-only'],
      { env },
    )
      .toString()
      .split('\n')
      .filter(Boolean);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^\/bootstrap\/[0-9a-f]{12}$/);
    const sealed = execFileSync(ETCDCTL_BIN, ['--endpoints', etcd.endpoint, 'get', keys[0]!, '--print-value-only'], {
      env,
    }).toString();
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(sealed).not.toContain(a.token);
  });

  it("A's admin kubeconfig works against B; a Secret written through A reads back through B", () => {
    expect(onB(['get', 'ns', 'kube-system', '-o', 'jsonpath={.metadata.name}'])).toBe('kube-system');
    k(a, ['create', 'secret', 'generic', 'shared', '--from-literal=password=hunter2']);
    expect(Buffer.from(onB(['get', 'secret', 'shared', '-o', 'jsonpath={.data.password}']), 'base64').toString()).toBe(
      'hunter2',
    );
    // and the other way round; at rest under the shared keyring, not in the clear
    onB(['create', 'secret', 'generic', 'from-b', '--from-literal=k=v-from-b']);
    expect(Buffer.from(k(a, ['get', 'secret', 'from-b', '-o', 'jsonpath={.data.k}']), 'base64').toString()).toBe(
      'v-from-b',
    );
    const raw = execFileSync(
      ETCDCTL_BIN,
      ['--endpoints', etcd.endpoint, 'get', '/registry/core/secrets/default/shared', '--print-value-only'],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    ).toString();
    expect(raw.startsWith('k8s:enc:aesgcm:v1:')).toBe(true);
    expect(raw).not.toContain('hunter2');
  });

  it('a ServiceAccount token issued by A authenticates on B', () => {
    const token = k(a, ['create', 'token', 'default', '--duration', '10m']).trim();
    expect(
      k(a, ['--server', b.url, '--token', token, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']),
    ).toBe('system:serviceaccount:default:default');
    // a token B never saw and nobody signed: 401 on B
    const bad = kubectl(a, ['--server', b.url, '--token', token.slice(0, -4) + 'AAAA', 'get', 'ns']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it("a user certificate from A's client CA (skiff-server kubeconfig) authenticates on B", () => {
    const r = spawnSync(
      process.execPath,
      [SERVER_BIN, 'kubeconfig', '--user', 'alice', '--group', 'dev', '--data-dir', a.dataDir, '--server', b.url],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const file = join(a.dataDir, 'alice.kubeconfig');
    writeFileSync(file, r.stdout, { mode: 0o600 });
    const who = kubectl({ ...a, kubeconfig: file }, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(who.stdout, who.stderr).toBe('alice');
  });

  it("an agent joins B with A's join token; A sees the node Ready", async () => {
    agent = startAgent(b, { token: readFileSync(join(a.dataDir, 'token'), 'utf8').trim() });
    await eventually(
      () => {
        expect(
          k(a, ['get', 'node', agent!.node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']),
        ).toBe('True');
      },
      45_000,
      500,
    );
  }, 60_000);

  it("a server with the wrong token, or with another cluster's keys, exits non-zero with a clear message and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-e2e-wrongtoken-'));
    try {
      const r = spawnSync(
        process.execPath,
        [
          SERVER_BIN,
          '--data-dir',
          dir,
          '--listen',
          '127.0.0.1:0',
          '--datastore-endpoint',
          etcd.endpoint,
          '--token',
          'not-the-cluster-token',
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('bootstrap data already found in the datastore and encrypted with a different token');
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(readdirSync(dir)).toEqual([]);
      // no token at all while the datastore holds a cluster: refused, told to give the token
      const other = spawnSync(
        process.execPath,
        [SERVER_BIN, '--data-dir', dir, '--listen', '127.0.0.1:0', '--datastore-endpoint', etcd.endpoint],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(other.status).toBe(1);
      expect(other.stderr).toMatch(/already holds a cluster's bootstrap data/);
      expect(existsSync(join(dir, 'tls'))).toBe(false);
      // the cluster's token, but a data dir holding another ServiceAccount key: refused, the key kept
      const foreignKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string;
      writeFileSync(join(dir, 'sa.key'), foreignKey, { mode: 0o600 });
      const conflict = spawnSync(
        process.execPath,
        [
          SERVER_BIN,
          '--data-dir',
          dir,
          '--listen',
          '127.0.0.1:0',
          '--datastore-endpoint',
          etcd.endpoint,
          '--token-file',
          join(a.dataDir, 'token'),
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(conflict.status, conflict.stderr).toBe(1);
      expect(conflict.stderr).toContain(
        `${join(dir, 'sa.key')} differ from the cluster's bootstrap data in the datastore`,
      );
      expect(conflict.stderr).toContain('Remove the file(s) from the data dir and restart');
      expect(readFileSync(join(dir, 'sa.key'), 'utf8')).toBe(foreignKey);
      expect(existsSync(join(dir, 'tls'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
