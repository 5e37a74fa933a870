// skiff-server on etcd (--datastore-endpoint, Debian's etcd-server started by the test) with
// a real agent on Docker and the real kubectl: a Deployment's pods Running, the objects
// under /registry/ in etcdctl, a kubectl watch across a server restart, resourceVersions
// that keep increasing. Then snapshots with real processes: `skiff-server snapshot save`
// while writes run against a live SQLite server, restore into an empty data dir, a server
// on it serves every object acknowledged before the snapshot's revision.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  SERVER_BIN,
  eventually,
  httpsRequest,
  k,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import { ETCDCTL_BIN, startEtcd, type EtcdProcess } from '../unit/etcd-process.js';

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: ${BUSYBOX}, command: [sleep, '3600']}]
`;

describe('skiff-server on etcd', () => {
  let etcd: EtcdProcess;
  let s: ServerProc;
  let agent: AgentProc;
  beforeAll(async () => {
    etcd = await startEtcd();
    s = await startServer(['--datastore-endpoint', etcd.endpoint]);
    agent = startAgent(s);
  }, 90_000);
  afterAll(async () => {
    await agent?.kill('SIGKILL');
    if (agent) removeNodeContainers(agent.node);
    await s?.cleanup();
    await etcd?.stop();
  });

  it('serves a Deployment from etcd; etcdctl sees it; a watch and the objects survive a server restart', async () => {
    k(s, ['apply', '-f', '-'], DEPLOY);
    const watch = kubectlBg(s, ['get', 'pods', '-w', '-o', 'name']);
    await eventually(
      () => {
        const phases = k(s, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.phase}']).split(' ');
        expect(phases).toEqual(['Running', 'Running']);
      },
      60_000,
      500,
    );
    const keys = execFileSync(
      ETCDCTL_BIN,
      ['--endpoints', etcd.endpoint, 'get', '--prefix', '/registry/', '--keys-only'],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    )
      .toString()
      .split('\n')
      .filter(Boolean);
    expect(keys).toContain('/registry/apps/deployments/default/web');
    const pods = k(s, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ');
    for (const p of pods) expect(keys).toContain(`/registry/core/pods/default/${p}`);
    await eventually(() => {
      for (const p of pods) expect(watch.out()).toContain(`pod/${p}`);
    });

    const rvBefore = Number(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.resourceVersion}']));
    const uidBefore = k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.uid}']);
    await s.restart();
    expect(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.uid}'])).toBe(uidBefore);
    expect(
      k(s, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').sort(),
    ).toEqual([...pods].sort());
    k(s, ['scale', 'deploy', 'web', '--replicas=3']);
    const rvAfter = Number(k(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.resourceVersion}']));
    expect(rvAfter).toBeGreaterThan(rvBefore);
    await eventually(
      () => {
        expect(k(s, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.phase}']).split(' ')).toEqual([
          'Running',
          'Running',
          'Running',
        ]);
      },
      60_000,
      500,
    );
    // a new watch after the restart sees the third pod come and go
    const w2 = kubectlBg(s, ['get', 'pods', '-w', '-o', 'name', '-l', 'app=web']);
    k(s, ['scale', 'deploy', 'web', '--replicas=2']);
    await eventually(() => expect(w2.out().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3));
    watch.proc.kill();
    w2.proc.kill();
    k(s, ['delete', 'deploy', 'web']);
  }, 150_000);
});

describe('snapshots of a running server', () => {
  it('snapshot save while writes run; restore into an empty data dir; every object acknowledged before the snapshot is there', async () => {
    const s = await startServer();
    const restored = mkdtempSync(join(tmpdir(), 'skiff-restored-'));
    let s2: ServerProc | undefined;
    try {
      const acked: { name: string; rv: number }[] = [];
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const r = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
            metadata: { name: `cm${i}` },
            data: { i: String(i) },
          });
          if (r.status !== 201) throw new Error(`create cm${i}: ${r.status} ${r.body}`);
          acked.push({ name: `cm${i}`, rv: Number(r.json.metadata.resourceVersion) });
        }
      })();
      await eventually(() => expect(acked.length).toBeGreaterThan(50), 30_000);
      const file = join(restored, '..', `${restored.split('/').pop()}.snap`);
      const save = spawnSync(process.execPath, [SERVER_BIN, 'snapshot', 'save', file, '--data-dir', s.dataDir], {
        encoding: 'utf8',
      });
      expect(save.status, save.stderr).toBe(0);
      const rev = Number(/revision (\d+)/.exec(save.stdout)![1]);
      const atSave = acked.length;
      await eventually(() => expect(acked.length).toBeGreaterThan(atSave + 20), 30_000);
      writing = false;
      await writer;
      // a restore into a live server's data dir is refused
      const refused = spawnSync(process.execPath, [SERVER_BIN, 'snapshot', 'restore', file, '--data-dir', s.dataDir], {
        encoding: 'utf8',
      });
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/is running on/);
      await s.kill('SIGTERM');

      const restore = spawnSync(process.execPath, [SERVER_BIN, 'snapshot', 'restore', file, '--data-dir', restored], {
        encoding: 'utf8',
      });
      expect(restore.status, restore.stderr).toBe(0);
      rmSync(file, { force: true });
      s2 = await startServer([], restored);
      const list = await httpsRequest(s2, 'GET', '/api/v1/namespaces/default/configmaps');
      const have = new Map<string, string>(
        (list.json.items as { metadata: { name: string; resourceVersion: string } }[]).map((c) => [
          c.metadata.name,
          c.metadata.resourceVersion,
        ]),
      );
      const before = acked.filter((a) => a.rv <= rev);
      expect(before.length).toBeGreaterThanOrEqual(50);
      for (const a of before) expect(have.get(a.name)).toBe(String(a.rv));
      // revisions continue far past anything the old server handed out: old watches get 410
      expect(Number(list.json.metadata.resourceVersion)).toBeGreaterThan(acked.at(-1)!.rv);
      const old = await httpsRequest(
        s2,
        'GET',
        `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${acked.at(-1)!.rv}`,
      );
      // kube-apiserver's way: 200 and one ERROR event carrying the 410 Expired Status
      expect(old.status === 410 || /"type":"ERROR"[\s\S]*"code":410/.test(old.body), `${old.status} ${old.body}`).toBe(
        true,
      );
      // the restored data dir's keys: the old admin token still works (it came with the snapshot)
      expect(s2.token).toBe(s.token);
    } finally {
      await s2?.cleanup();
      await s.cleanup();
      rmSync(restored, { recursive: true, force: true });
    }
  }, 120_000);
});
