// The multi-host harness itself (scripts/hosts.sh through test/e2e/hosts.ts): two
// simulated hosts whose dockerds' containers reach each other's host address and the
// bridge, agents on both register with their own InternalIP, a killed host goes
// NotReady, and `down` leaves no namespace, link, chain, daemon or state dir behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, httpsRequest } from './harness.js';
import {
  BRIDGE_IP,
  hostDocker,
  hostExec,
  hostsAvailable,
  hostsDown,
  hostsLeftovers,
  hostsUp,
  killHost,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const enabled = hostsAvailable('simulated-hosts e2e test');

describe.skipIf(!enabled)('simulated hosts (scripts/hosts.sh)', () => {
  let hosts: Host[] = [];
  let server: HostServer | undefined;

  beforeAll(async () => {
    hosts = await hostsUp(2);
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await server?.cleanup().catch(() => undefined);
    await hostsDown();
  }, 240_000);

  it('gives each host its own address, namespace and dockerd with the test images', () => {
    expect(hosts.map((h) => [h.name, h.ip, h.netns])).toEqual([
      ['h1', '10.99.0.11', 'skiff-h1'],
      ['h2', '10.99.0.12', 'skiff-h2'],
    ]);
    for (const h of hosts) {
      const ip = hostExec(h, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      expect(ip.status, ip.stderr).toBe(0);
      expect(ip.stdout).toContain(`${h.ip}/24`);
      const env = hostExec(h, ['sh', '-c', 'echo $DOCKER_HOST']);
      expect(env.stdout.trim()).toBe(h.dockerSocket);
      const imgs = hostDocker(h, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
      expect(imgs.stdout).toContain('skiff.local/busybox:1.36');
      expect(imgs.stdout).toContain('skiff.local/pause:3.10');
    }
    // each its own engine: own data root
    const roots = hosts.map((h) => hostDocker(h, ['info', '--format', '{{.DockerRootDir}}']).stdout.trim());
    expect(roots).toEqual(['/var/lib/skiff-hosts/h1/docker', '/var/lib/skiff-hosts/h2/docker']);
  });

  it("lets a container on one host reach the other host's address and the bridge", () => {
    const [h1, h2] = hosts as [Host, Host];
    // a web server published on h2's address, a client container on h1 (busybox's
    // `wget -T` segfaults in this static build: the timeout comes from `timeout`)
    const web = hostDocker(h2, [
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      '8080:80',
      BUSYBOX,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/var/www',
    ]);
    expect(web.status, web.stderr).toBe(0);
    const probe = hostDocker(
      h1,
      [
        'run',
        '--rm',
        BUSYBOX,
        'sh',
        '-c',
        `ping -c1 -W2 ${h2.ip} && ping -c1 -W2 ${BRIDGE_IP} && for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- http://${h2.ip}:8080/ && exit 0; sleep 0.3; done; exit 1`,
      ],
      { timeoutMs: 60_000 },
    );
    expect(probe.status, `${probe.stdout}\n${probe.stderr}`).toBe(0);
    expect(probe.stdout).toContain('hello from skiff');
    // and back: a container on h2 pings h1
    const back = hostDocker(h2, ['run', '--rm', BUSYBOX, 'ping', '-c1', '-W2', h1.ip], { timeoutMs: 30_000 });
    expect(back.status, `${back.stdout}\n${back.stderr}`).toBe(0);
  });

  it('runs agents on the hosts against a server in the host namespace; a killed host goes NotReady', async () => {
    server = await startHostServer(['--node-grace-period', '3s']);
    const s = server;
    const agents = hosts.map((h) => startHostAgent(s, h));
    const ready = (name: string) => async () => {
      const r = await httpsRequest(s, 'GET', `/api/v1/nodes/${name}`);
      if (r.status !== 200) throw new Error(`GET node ${name}: ${r.status}`);
      const cond = r.json.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      return { ready: cond?.status, addresses: r.json.status.addresses as { type: string; address: string }[] };
    };
    for (const [i, h] of hosts.entries()) {
      const n = await waitFor(
        async () => {
          const n = await ready(h.name)();
          if (n.ready !== 'True') throw new Error(`${h.name} Ready=${n.ready}`);
          return n;
        },
        30_000,
        `${h.name} Ready\n${agents[i]!.output()}`,
      );
      expect(n.addresses).toContainEqual({ type: 'InternalIP', address: h.ip });
    }
    await killHost(hosts[1]!);
    // the dead host's dockerd is gone with it
    expect(hostDocker(hosts[1]!, ['info'], { timeoutMs: 10_000 }).status).not.toBe(0);
    await waitFor(
      async () => {
        const n = await ready('h2')();
        if (n.ready === 'True') throw new Error('h2 still Ready');
      },
      30_000,
      'h2 NotReady after killHost',
    );
    expect((await ready('h1')()).ready).toBe('True');
  }, 120_000);

  it('down leaves no namespace, link, chain, dockerd or state dir behind', async () => {
    await server?.cleanup();
    server = undefined;
    await hostsDown();
    expect(hostsLeftovers()).toEqual([]);
  }, 240_000);
});
