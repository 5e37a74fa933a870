// The sandbox pool (--sandbox-pool): a plain pod adopts a ready sandbox (and the pool is
// refilled), with the pod's hostname file, hosts line, resolv.conf and IP, serving on it;
// a hostNetwork pod or one with its own hostname gets a fresh sandbox; an agent restart
// keeps the adopted pod as it is and replaces what the pool held; without the flag none.
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  k,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
/** the node's pooled sandboxes no pod adopted: ids */
function idlePool(node: string): string[] {
  const out = docker(['ps', '--filter', `label=io.skiff.sandbox.pool=${node}`, '--format', '{{.ID}} {{.Names}}']);
  return out
    ? out
        .split('\n')
        .filter((l) => l.includes(' skiff-pool_'))
        .map((l) => l.split(' ')[0]!)
    : [];
}
/** the sandbox (full id, name, labels) a pod's container joined */
function sandboxOf(containerId: string): { id: string; name: string; pool?: string } {
  const mode = docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', containerId]);
  const id = mode.replace(/^container:/, '');
  const [name, pool] = docker([
    'inspect',
    '-f',
    '{{.Name}} {{index .Config.Labels "io.skiff.sandbox.pool"}}',
    id,
  ]).split(' ');
  return { id, name: name!.replace(/^\//, ''), ...(pool && pool !== '<no' ? { pool } : {}) };
}
const fetchText = (url: string) =>
  new Promise<string>((resolve, reject) => {
    const req = get(url, (r) => {
      let b = '';
      r.on('data', (d) => {
        b += d;
      });
      r.on('end', () => resolve(b));
    });
    req.on('error', reject).setTimeout(3000, () => req.destroy(new Error('timeout')));
  });

describe.skipIf(!enabled)('sandbox pool', () => {
  let s: ServerProc;
  let a: AgentProc;
  let b: AgentProc;
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const running = (name: string) =>
    eventually(
      () => {
        const p = pod(name);
        expect(p.status.phase).toBe('Running');
        return p;
      },
      60_000,
      200,
    );
  const exec = (name: string, cmd: string) => k(s, ['exec', name, '--', 'sh', '-c', cmd]).trim();

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s, { args: ['--sandbox-pool', '2'] });
    b = startAgent(s);
    await eventually(
      () => {
        expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/);
        expect(k(s, ['get', 'node', b.node])).toMatch(/\sReady\s/);
      },
      30_000,
      200,
    );
  }, 60_000);
  afterAll(async () => {
    await a?.kill('SIGKILL');
    await b?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    if (b) removeNodeContainers(b.node);
    await s?.cleanup();
  });

  it('a plain pod adopts a pooled sandbox: its hostname, hosts, resolv.conf and IP; the pool is refilled', async () => {
    await eventually(() => expect(idlePool(a.node)).toHaveLength(2), 30_000, 200);
    const before = idlePool(a.node);
    const spec = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeName: ${a.node}
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - {name: web, image: ${BUSYBOX}, command: [sh, -c, 'mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www']}
`;
    k(s, ['apply', '-f', '-'], spec('web'));
    // a pod with a hostname of its own gets a fresh sandbox: the reference for the files
    k(s, ['apply', '-f', '-'], spec('fresh', '  hostname: fresh\n'));
    const web = await running('web');
    const fresh = await running('fresh');
    const sb = sandboxOf(web.status.containerStatuses[0].containerID.replace('docker://', ''));
    expect(sb.pool).toBe(a.node);
    expect(before.some((id) => sb.id.startsWith(id))).toBe(true);
    expect(sb.name).toBe(`k8s_POD_web_default_${web.metadata.uid}_0`);
    expect(sandboxOf(fresh.status.containerStatuses[0].containerID.replace('docker://', '')).pool).toBeUndefined();
    await eventually(() => expect(idlePool(a.node)).toHaveLength(2), 30_000, 200);

    expect(exec('web', 'cat /etc/hostname; echo $HOSTNAME')).toBe('web\nweb');
    const ipOf = (hosts: string, name: string) =>
      hosts
        .split('\n')
        .find((l) => l.split(/\s+/).slice(1).includes(name))
        ?.split(/\s+/)[0];
    const webHosts = exec('web', 'cat /etc/hosts');
    const freshHosts = exec('fresh', 'cat /etc/hosts');
    expect(ipOf(webHosts, 'web')).toBe(web.status.podIP);
    expect(ipOf(freshHosts, 'fresh')).toBe(fresh.status.podIP);
    // the same file as a fresh sandbox's, but for the pod's own name and address
    expect(webHosts.replace(web.status.podIP, 'IP').replace(/\bweb\b/, 'NAME')).toBe(
      freshHosts.replace(fresh.status.podIP, 'IP').replace(/\bfresh\b/, 'NAME'),
    );
    expect(exec('web', 'cat /etc/resolv.conf')).toBe(exec('fresh', 'cat /etc/resolv.conf'));
    expect(await eventually(() => fetchText(`http://${web.status.podIP}:8080/`), 20_000, 300)).toBe('hello-web\n');
  }, 120_000);

  it('a hostNetwork pod does not adopt', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  nodeName: ${a.node}
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ${BUSYBOX}, command: [sleep, '3600']}]
`,
    );
    const p = await running('hostnet');
    const id = p.status.containerStatuses[0].containerID.replace('docker://', '');
    expect(sandboxOf(id).pool).toBeUndefined();
  }, 60_000);

  it('an agent restart keeps the adopted pod as it is and replaces the idle pool', async () => {
    const web = pod('web');
    const cid = web.status.containerStatuses[0].containerID;
    const sb = sandboxOf(cid.replace('docker://', ''));
    const idle = idlePool(a.node);
    await a.restart();
    await eventually(
      () => {
        const now = idlePool(a.node);
        expect(now).toHaveLength(2);
        for (const id of idle) expect(now).not.toContain(id);
      },
      40_000,
      300,
    );
    // a few syncs later the pod is still the same
    await eventually(() => expect(a.output()).toMatch(/removed pooled sandboxes an earlier agent left/), 20_000, 200);
    const after = pod('web');
    expect(after.status.containerStatuses[0].containerID).toBe(cid);
    expect(after.status.containerStatuses[0].restartCount).toBe(0);
    expect(after.status.phase).toBe('Running');
    expect(docker(['inspect', '-f', '{{.State.Running}}', sb.id])).toBe('true');
    expect(exec('web', 'cat /etc/hostname')).toBe('web');
  }, 90_000);

  it('without --sandbox-pool there is no pool', async () => {
    k(s, [
      'run',
      'plain',
      `--image=${BUSYBOX}`,
      '--restart=Never',
      `--overrides={"spec":{"nodeName":"${b.node}"}}`,
      '--',
      'sleep',
      '3600',
    ]);
    const p = await running('plain');
    expect(sandboxOf(p.status.containerStatuses[0].containerID.replace('docker://', '')).pool).toBeUndefined();
    expect(docker(['ps', '-aq', '--filter', `label=io.skiff.sandbox.pool=${b.node}`])).toBe('');
  }, 60_000);
});
