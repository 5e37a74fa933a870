// Several servers and one agent: a pod's logs, exec and port-forward through the server the
// agent is NOT connected to (relayed to the one holding it, with the user impersonated —
// a ServiceAccount bound to `edit` as well as the admin), and the agent moving to the other
// server when its own dies, its node staying Ready and its pod untouched. Two skiff-servers
// on one real etcd (B joins with A's token), one agent on real Docker, the real kubectl.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  KUBECTL,
  eventually,
  k,
  kubectl,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';
import { startEtcd, type EtcdProcess } from '../unit/etcd-process.js';

const ANNOTATION = 'skiff.io/agent-server';

describe('pod streams through any server; the agent fails over between servers', () => {
  let etcd: EtcdProcess;
  let a: ServerProc;
  let b: ServerProc;
  let agent: AgentProc;
  const forwards: ChildProcess[] = [];
  /** kubectl with A's admin kubeconfig, sent to B */
  const onB = (args: string[]) => k(a, ['--server', b.url, ...args]);

  beforeAll(async () => {
    etcd = await startEtcd();
    a = await startServer(['--datastore-endpoint', etcd.endpoint]);
    b = await startServer(['--datastore-endpoint', etcd.endpoint, '--token-file', join(a.dataDir, 'token')]);
    agent = startAgent(a, { args: ['--server', `${a.url},${b.url}`] });
    await eventually(() => expect(k(a, ['get', 'node', agent.node])).toMatch(/\sReady\s/), 30_000, 200);
    k(a, [
      'run',
      'talker',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      '--',
      'sh',
      '-c',
      'echo hello-from-the-pod; mkdir -p /www; echo served-through-b > /www/index.html; exec httpd -f -p 8080 -h /www',
    ]);
    await eventually(
      () => expect(k(a, ['get', 'pod', 'talker', '-o', 'jsonpath={.status.phase}'])).toBe('Running'),
      60_000,
      250,
    );
  }, 120_000);

  afterAll(async () => {
    for (const f of forwards) f.kill('SIGKILL');
    await agent?.kill('SIGKILL');
    if (agent) removeNodeContainers(agent.node);
    await b?.cleanup();
    await a?.cleanup();
    await etcd?.stop();
  });

  it('the Node names the server holding its agent', () => {
    expect(k(a, ['get', 'node', agent.node, '-o', `jsonpath={.metadata.annotations.skiff\\.io/agent-server}`])).toBe(
      a.url,
    );
    expect(ANNOTATION).toBe('skiff.io/agent-server');
  });

  it("logs, exec and port-forward through B reach the pod on A's agent", async () => {
    expect(onB(['logs', 'talker'])).toContain('hello-from-the-pod');
    expect(onB(['exec', 'talker', '--', 'sh', '-c', 'echo $((20+22))']).trim()).toBe('42');
    const r = kubectl(a, ['--server', b.url, 'exec', 'talker', '--', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);

    let out = '';
    const pf = spawn(
      KUBECTL,
      [
        '--kubeconfig',
        a.kubeconfig,
        '--server',
        b.url,
        'port-forward',
        '--address',
        '127.0.0.1',
        'pod/talker',
        ':8080',
      ],
      { env: { ...process.env, HOME: a.dataDir } },
    );
    forwards.push(pf);
    pf.stdout!.on('data', (d) => {
      out += d;
    });
    pf.stderr!.on('data', (d) => {
      out += d;
    });
    const port = await eventually(
      () => {
        if (pf.exitCode !== null) throw new Error(`kubectl port-forward exited ${pf.exitCode}: ${out}`);
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
        expect(m, out).toBeTruthy();
        return Number(m![1]);
      },
      15_000,
      100,
    );
    const body = await new Promise<string>((res, rej) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/', agent: false, headers: { Connection: 'close' } },
        (resp) => {
          let s = '';
          resp.setEncoding('utf8');
          resp.on('data', (d) => {
            s += d;
          });
          resp.on('end', () => res(s));
        },
      );
      req.setTimeout(20_000, () => req.destroy(new Error('request timed out')));
      req.on('error', rej);
      req.end();
    });
    expect(body).toContain('served-through-b');
    pf.kill('SIGTERM');
  }, 60_000);

  it('a ServiceAccount bound to edit gets logs and exec through B as itself (impersonated on A), and is refused what edit does not grant', () => {
    k(a, ['create', 'serviceaccount', 'dev']);
    k(a, ['create', 'rolebinding', 'dev-edit', '--clusterrole=edit', '--serviceaccount=default:dev']);
    const token = k(a, ['create', 'token', 'dev', '--duration', '10m']).trim();
    const asDev = (args: string[]) => kubectl(a, ['--server', b.url, '--token', token, ...args]);
    const logs = asDev(['logs', 'talker']);
    expect(logs.stdout, logs.stderr).toContain('hello-from-the-pod');
    const ex = asDev(['exec', 'talker', '--', 'id', '-u']);
    expect(ex.stdout.trim(), ex.stderr).toBe('0');
    // edit grants nothing cluster-wide: the node list stays forbidden
    expect(asDev(['get', 'nodes']).stderr).toMatch(/forbidden/i);
  });

  it('when A dies the agent moves to B: the node stays Ready, the pod keeps running, logs come from B directly', async () => {
    const containerBefore = k(a, ['get', 'pod', 'talker', '-o', 'jsonpath={.status.containerStatuses[0].containerID}']);
    await a.kill('SIGKILL');
    await eventually(
      () =>
        expect(onB(['get', 'node', agent.node, '-o', `jsonpath={.metadata.annotations.skiff\\.io/agent-server}`])).toBe(
          b.url,
        ),
      30_000,
      250,
    );
    expect(onB(['get', 'node', agent.node])).toMatch(/\sReady\s/);
    expect(onB(['logs', 'talker'])).toContain('hello-from-the-pod');
    expect(onB(['exec', 'talker', '--', 'echo', 'still-here']).trim()).toBe('still-here');
    expect(onB(['get', 'pod', 'talker', '-o', 'jsonpath={.status.containerStatuses[0].containerID}'])).toBe(
      containerBefore,
    );
    expect(onB(['get', 'pod', 'talker', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).toBe('0');
  }, 90_000);
});
