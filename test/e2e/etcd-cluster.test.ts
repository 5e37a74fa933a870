// Three etcd members installed by `scripts/install.sh etcd` on simulated hosts h1..h3 (the
// first starts the cluster and its CA, the others join one after another with that CA, as
// Vagrant brings machines up), TLS with client certificates, and a skiff-server using all
// three (--datastore-endpoint with the client certificate install.sh issued). Killing one
// member changes nothing a client sees; killing a second makes the API answer 503/504 with
// a message naming etcd — an answer, not a hang; the member's return (install.sh again, the
// same flags) brings the API back, and every write acknowledged before is there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest, k, kubectlAvailable, startServer, type ServerProc } from './harness.js';
import { EtcdMembers } from './etcd-members.js';
import { HOSTS_HOOK_TIMEOUT_MS, hostsAvailable, hostsDown, hostsUp, rmrf, waitFor, type Host } from './hosts.js';

const ETCDCTL = process.env.SKIFF_TEST_ETCDCTL ?? '/usr/bin/etcdctl';
const enabled = hostsAvailable('etcd cluster e2e test') && kubectlAvailable();

describe.skipIf(!enabled)('three etcd members from install.sh etcd, one skiff-server on them', () => {
  let hosts: Host[] = [];
  let tmp = '';
  let etcd: EtcdMembers;
  let s: ServerProc | undefined;
  const acknowledged: string[] = [];
  const write = (name: string) => {
    k(s!, ['create', 'configmap', name, `--from-literal=v=${name}`]);
    acknowledged.push(name);
  };

  beforeAll(async () => {
    hosts = await hostsUp(3);
    tmp = mkdtempSync(join(tmpdir(), 'skiff-etcd-cluster-'));
    etcd = new EtcdMembers(tmp, hosts);
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.cleanup();
    if (tmp) etcd.uninstallAll();
    await hostsDown();
    if (tmp) rmrf(tmp);
  }, 240_000);

  it('installs the first member with a new CA, then two more join it one at a time; a second run changes nothing', () => {
    const first = etcd.member(1);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain('making the etcd CA');
    for (const i of [2, 3]) {
      const r = etcd.member(i);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`adding m${i}`);
    }
    const again = etcd.member(3);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('skiff-etcd already running');
    // every member sees three started voters; the CA key stays private
    const list = spawnSync(
      ETCDCTL,
      [
        '--endpoints',
        `https://${hosts[2]!.ip}:2379`,
        '--cacert',
        etcd.pki('ca.crt'),
        '--cert',
        etcd.pki('client.crt'),
        '--key',
        etcd.pki('client.key'),
        'member',
        'list',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    expect(list.status, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines)
      expect(l).toMatch(
        /, started, m[123], https:\/\/10\.99\.0\.1[123]:2380, https:\/\/10\.99\.0\.1[123]:2379, false$/,
      );
    expect(spawnSync('stat', ['-c', '%a', etcd.pki('ca.key')], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    // without a client certificate etcd refuses the client
    const anon = spawnSync(
      ETCDCTL,
      [
        '--endpoints',
        `https://${hosts[0]!.ip}:2379`,
        '--cacert',
        etcd.pki('ca.crt'),
        '--dial-timeout',
        '3s',
        '--command-timeout',
        '5s',
        'get',
        '/registry/',
        '--prefix',
        '--keys-only',
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
    );
    expect(anon.status).not.toBe(0);
  }, 240_000);

  it('one member down changes nothing; two down answers 503/504 naming etcd; one back and the API is back with every acknowledged write', async () => {
    s = await startServer(etcd.serverFlags());
    for (let n = 0; n < 5; n++) write(`before-${n}`);

    etcd.kill(1);
    for (let n = 0; n < 5; n++) write(`one-down-${n}`);
    expect(k(s, ['get', 'configmap', 'before-0', '-o', 'jsonpath={.data.v}'])).toBe('before-0');

    etcd.kill(2);
    // a write and a read each get an answer — the server's own deadline, not the client's
    const w = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'no-quorum' },
    });
    expect([503, 504], w.body).toContain(w.status);
    expect(w.body).toMatch(/"kind":"Status".*etcd/);
    const r = await httpsRequest(s, 'GET', '/api/v1/namespaces/default/configmaps/before-0');
    expect([503, 504], r.body).toContain(r.status);

    const back = etcd.member(2);
    expect(back.code, back.out).toBe(0);
    await waitFor(
      async () => {
        const res = await httpsRequest(s!, 'POST', '/api/v1/namespaces/default/configmaps', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'after' },
        });
        if (res.status !== 201 && res.status !== 409) throw new Error(`${res.status} ${res.body}`);
      },
      60_000,
      'a write after member 2 returned',
    );
    const names = k(s, ['get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ');
    for (const n of acknowledged) expect(names).toContain(n);
    expect(names).toContain('after');
  }, 240_000);
});
