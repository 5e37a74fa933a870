// The cluster network on two simulated hosts (scripts/hosts.sh: own netns, own dockerd,
// own agent each, with skiff's default --network skiff): pod-to-pod across hosts by pod IP
// over host-gw routes, a Service by ClusterIP and by DNS name spreading over both
// backends, NodePort and LoadBalancer answering on every host's address, readiness and
// scale-to-zero emptying the endpoints, and a dead host's pods moving while the Service
// keeps answering. Driven with the real kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import dnsPacket from 'dns-packet';
import { join } from 'node:path';
import { BUSYBOX, KUBECTL, k, kubectl, type AgentProc } from './harness.js';
import {
  BRIDGE_IP,
  hostExec,
  hostsAvailable,
  hostsDown,
  hostsUp,
  killHost,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const enabled = hostsAvailable('multi-node networking e2e test');

const backend = (name: string, extra = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app: ${name} } } }
      containers:
      - name: web
        image: ${BUSYBOX}
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{ name: http, containerPort: 8080 }]
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
${extra}`;

const service = (name: string, type: string, extra = '') => `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  type: ${type}
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
${extra}`;

const pinnedPod = (name: string, node: string, cmd: string) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { role: ${name} } }
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 0
  containers: [{ name: main, image: ${BUSYBOX}, command: [sh, -c, '${cmd}'] }]
`;

describe.skipIf(!enabled)('multi-node networking (two simulated hosts)', () => {
  let hosts: Host[] = [];
  let s: HostServer;
  let agents: AgentProc[] = [];
  /** what to print when something does not happen in time */
  const diag = () =>
    `${kubectl(s, ['get', 'pods,svc,endpoints', '-o', 'wide']).stdout}\n${kubectl(s, ['get', 'events', '--sort-by=.lastTimestamp']).stdout.split('\n').slice(-15).join('\n')}\n${agents
      .map(
        (a) =>
          `--- agent ${a.node}\n${a
            .output()
            .split('\n')
            .filter((l) => /"level":[45]0/.test(l))
            .slice(-10)
            .join('\n')}`,
      )
      .join('\n')}`;

  let upstream: Socket | undefined;
  let resolvDir = '';

  beforeAll(async () => {
    hosts = await hostsUp(2);
    s = await startHostServer(['--node-grace-period', '4s', '--default-unreachable-toleration-seconds', '2']);
    // "the LAN's resolver": on the bridge address, answers www.example.test with 192.0.2.77;
    // the agents use it through --resolv-conf (kubelet's flag) instead of this machine's
    upstream = createSocket('udp4');
    upstream.on('message', (m, r) => {
      try {
        const q = dnsPacket.decode(m);
        const name = q.questions?.[0]?.name ?? '';
        const answers =
          name === 'www.example.test' && q.questions?.[0]?.type === 'A'
            ? [{ type: 'A' as const, name, ttl: 30, data: '192.0.2.77' }]
            : [];
        upstream!.send(
          dnsPacket.encode({
            type: 'response',
            id: q.id,
            flags: dnsPacket.RECURSION_AVAILABLE | (answers.length ? 0 : 3),
            questions: q.questions,
            answers,
          }),
          r.port,
          r.address,
        );
      } catch {
        /* not DNS */
      }
    });
    await new Promise<void>((resolve, reject) => {
      upstream!.once('error', reject);
      upstream!.bind(53, BRIDGE_IP, () => resolve());
    });
    resolvDir = mkdtempSync(join(tmpdir(), 'skiff-resolv-'));
    writeFileSync(join(resolvDir, 'resolv.conf'), `nameserver ${BRIDGE_IP}\nsearch lan.example.test\n`);
    agents = hosts.map((h) =>
      startHostAgent(s, h, ['--network', 'skiff', '--resolv-conf', join(resolvDir, 'resolv.conf')]),
    );
    await waitFor(
      () => {
        const out = k(s, [
          'get',
          'nodes',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status},{.spec.podCIDR};{end}',
        ]);
        if (!/h1=True,10\.42\.\d+\.0\/24;h2=True,10\.42\.\d+\.0\/24;/.test(out)) throw new Error(out);
      },
      60_000,
      'both hosts Ready with a pod subnet',
    );
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    upstream?.close();
    if (resolvDir) rmSync(resolvDir, { recursive: true, force: true });
    await s?.cleanup().catch(() => undefined);
    await hostsDown();
  }, 240_000);

  /**
   * kubectl exec without blocking this process: the agents reach the server through a relay
   * in this process (startHostServer), which a spawnSync would freeze mid-stream
   */
  const exec = (
    pod: string,
    cmd: string,
    timeoutMs = 60_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          s.kubeconfig,
          '--cache-dir',
          join(s.dataDir, 'kube-cache'),
          'exec',
          pod,
          '--',
          'sh',
          '-c',
          cmd,
        ],
        { env: { ...process.env, HOME: s.dataDir } },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => {
        stdout += d;
      });
      p.stderr.on('data', (d) => {
        stderr += d;
      });
      const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('close', (code) => {
        clearTimeout(t);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  /** run in the client pod (pinned to h1) */
  const inClient = (cmd: string, timeoutMs = 60_000) => exec('client', cmd, timeoutMs);
  const fetchMany = async (url: string, n: number) => {
    const r = await inClient(`for i in $(seq 1 ${n}); do timeout 5 wget -qO- ${url} || echo FAIL; done`, 120_000);
    return r.stdout.split('\n').filter(Boolean);
  };

  it('gives each node its own /24 and routes pod to pod across hosts without NAT', async () => {
    const cidrs = k(s, ['get', 'nodes', '-o', 'jsonpath={.items[*].spec.podCIDR}']).split(' ');
    expect(new Set(cidrs).size).toBe(2);
    k(s, ['apply', '-f', '-'], pinnedPod('client', 'h1', 'sleep 3600'));
    // the peer serves a page and a CGI that prints the address a connection came from
    k(
      s,
      ['apply', '-f', '-'],
      pinnedPod(
        'peer',
        'h2',
        "mkdir -p /www/cgi-bin && echo peer-on-h2 > /www/index.html && printf ''#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n'' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www",
      ),
    );
    await waitFor(
      () => {
        const st = k(s, [
          'get',
          'pods',
          'client',
          'peer',
          '-o',
          'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
        ]);
        if (st !== 'True True') throw new Error(diag());
      },
      60_000,
      'client and peer Ready',
    );
    const ip = (p: string) => k(s, ['get', 'pod', p, '-o', 'jsonpath={.status.podIP}']);
    const [clientIP, peerIP] = [ip('client'), ip('peer')];
    const node = (n: string) => k(s, ['get', 'node', n, '-o', 'jsonpath={.spec.podCIDR}']).replace(/\.0\/24$/, '.');
    expect(clientIP.startsWith(node('h1'))).toBe(true);
    expect(peerIP.startsWith(node('h2'))).toBe(true);
    const got = await waitFor(
      async () => {
        const r = await inClient(`timeout 5 wget -qO- http://${peerIP}:8080/`);
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout.trim();
      },
      30_000,
      'pod on h1 reaches pod on h2',
    );
    expect(got).toBe('peer-on-h2');
    // the peer sees the client's own pod IP: no masquerade inside the cluster network
    const from = await inClient(`timeout 5 wget -qO- http://${peerIP}:8080/cgi-bin/ip`);
    expect(from.stdout.trim().replace(/^\[::ffff:(.*)\]$/, '$1')).toBe(clientIP);
    // and the route table on h1 has h2's subnet via h2's address, tagged as ours
    const routes = hostExec(hosts[0]!, ['ip', 'route', 'show', 'proto', '200']).stdout;
    expect(routes).toContain(`${k(s, ['get', 'node', 'h2', '-o', 'jsonpath={.spec.podCIDR}'])} via ${hosts[1]!.ip}`);
  }, 120_000);

  it('reaches a 2-replica Deployment through its ClusterIP and its DNS name, both backends answering', async () => {
    k(s, ['apply', '-f', '-'], backend('web'));
    k(s, ['apply', '-f', '-'], service('web', 'ClusterIP'));
    k(s, ['rollout', 'status', 'deployment/web', '--timeout=90s']);
    const pods = k(s, ['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}']).split(' ').sort();
    const clusterIP = k(s, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    expect(clusterIP).toMatch(/^10\.43\./);
    await waitFor(
      () => {
        const eps = k(s, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}'])
          .split(' ')
          .filter(Boolean);
        if (eps.length !== 2) throw new Error(`endpoints: ${eps}`);
      },
      30_000,
      'two ready endpoints',
    );
    const byIP = await fetchMany(`http://${clusterIP}/`, 30);
    expect(byIP.filter((l) => l === 'FAIL')).toEqual([]);
    expect([...new Set(byIP)].sort()).toEqual(pods);
    const resolv = (await inClient('cat /etc/resolv.conf')).stdout;
    expect(resolv).toContain('nameserver 10.43.0.10');
    expect(resolv).toContain('search default.svc.cluster.local svc.cluster.local cluster.local');
    const byName = await fetchMany('http://web.default.svc.cluster.local/', 20);
    expect(byName.filter((l) => l === 'FAIL')).toEqual([]);
    expect([...new Set(byName)].sort()).toEqual(pods);
    const short = await fetchMany('http://web/', 4); // through the search path
    expect(short.filter((l) => l === 'FAIL')).toEqual([]);
    const ns = (await inClient('nslookup web.default.svc.cluster.local')).stdout;
    expect(ns).toContain(clusterIP);
    const nope = await inClient('nslookup nope.default.svc.cluster.local');
    expect(nope.stdout + nope.stderr).toMatch(/NXDOMAIN|can't find/);
  }, 180_000);

  it("forwards names outside the cluster to the node's resolvers; dnsPolicy Default gets the node's resolv.conf", async () => {
    const r = await inClient('nslookup www.example.test');
    expect(r.stdout).toContain('192.0.2.77');
    expect((await inClient('cat /etc/resolv.conf')).stdout).toContain(
      'search default.svc.cluster.local svc.cluster.local cluster.local lan.example.test',
    );
    k(
      s,
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: { name: dns-default }
spec:
  nodeName: h1
  dnsPolicy: Default
  terminationGracePeriodSeconds: 0
  containers: [{ name: main, image: ${BUSYBOX}, command: [sleep, '3600'] }]
`,
    );
    await waitFor(
      () => {
        if (k(s, ['get', 'pod', 'dns-default', '-o', 'jsonpath={.status.phase}']) !== 'Running')
          throw new Error('not running');
      },
      30_000,
      'dns-default Running',
    );
    const conf = (await exec('dns-default', 'cat /etc/resolv.conf')).stdout;
    expect(conf).toBe(`nameserver ${BRIDGE_IP}\nsearch lan.example.test\n`);
    k(s, ['delete', 'pod', 'dns-default', '--wait=false']);
  }, 60_000);

  it('gives a host-network pod with dnsPolicy ClusterFirstWithHostNet the cluster DNS', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: { name: hostnet }
spec:
  nodeName: h2
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  terminationGracePeriodSeconds: 0
  containers: [{ name: main, image: ${BUSYBOX}, command: [sleep, '3600'] }]
`,
    );
    await waitFor(
      () => {
        if (k(s, ['get', 'pod', 'hostnet', '-o', 'jsonpath={.status.phase}']) !== 'Running')
          throw new Error('not running');
      },
      30_000,
      'hostnet Running',
    );
    const r = await exec('hostnet', 'cat /etc/resolv.conf; wget -qO- http://web.default.svc.cluster.local/');
    expect(r.stdout).toContain('nameserver 10.43.0.10');
    expect(r.stdout).toMatch(/^web-/m);
    k(s, ['delete', 'pod', 'hostnet', '--wait=false']);
  }, 60_000);

  it("answers a NodePort on every host's address and a LoadBalancer on the nodes' addresses", async () => {
    k(s, ['apply', '-f', '-'], service('web-np', 'NodePort'));
    k(
      s,
      ['apply', '-f', '-'],
      service('web-lb', 'LoadBalancer', '  ports: [{ name: http, port: 8081, targetPort: http }]'),
    );
    const nodePort = Number(k(s, ['get', 'svc', 'web-np', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    for (const h of hosts) {
      const body = await waitFor(
        async () => {
          const r = await fetch(`http://${h.ip}:${nodePort}/`, { signal: AbortSignal.timeout(5000) });
          return (await r.text()).trim();
        },
        30_000,
        `NodePort on ${h.name}`,
      );
      expect(body).toMatch(/^web-/);
    }
    const ingress = await waitFor(
      () => {
        const ips = k(s, ['get', 'svc', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])
          .split(' ')
          .filter(Boolean)
          .sort();
        if (ips.length !== 2) throw new Error(`ingress ${ips}`);
        return ips;
      },
      30_000,
      'LoadBalancer ingress = node addresses',
    );
    expect(ingress).toEqual(hosts.map((h) => h.ip).sort());
    expect(k(s, ['get', 'svc', 'web-lb'])).toContain(
      hosts
        .map((h) => h.ip)
        .sort()
        .join(','),
    );
    for (const ip of ingress) {
      const body = await waitFor(
        async () => (await (await fetch(`http://${ip}:8081/`, { signal: AbortSignal.timeout(5000) })).text()).trim(),
        30_000,
        `LB on ${ip}`,
      );
      expect(body).toMatch(/^web-/);
    }
  }, 120_000);

  it('externalTrafficPolicy Local: only nodes with a local endpoint answer, and the client address is kept', async () => {
    // a CGI that prints the address the connection came from
    const cgi =
      "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 8080 -h /www";
    k(
      s,
      ['apply', '-f', '-'],
      `
apiVersion: apps/v1
kind: Deployment
metadata: { name: solo }
spec:
  replicas: 1
  selector: { matchLabels: { app: solo } }
  template:
    metadata: { labels: { app: solo } }
    spec:
      nodeSelector: { kubernetes.io/hostname: h1 }
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${BUSYBOX}
        command: [sh, -c, ${JSON.stringify(cgi)}]
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: solo-local }
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: { app: solo }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: solo-cluster }
spec:
  type: NodePort
  selector: { app: solo }
  ports: [{ port: 80, targetPort: 8080 }]
`,
    );
    k(s, ['rollout', 'status', 'deployment/solo', '--timeout=90s']);
    const np = (svc: string) => Number(k(s, ['get', 'svc', svc, '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    const [h1, h2] = hosts as [Host, Host];
    // curl, not fetch: busybox httpd passes the CGI's bare-LF headers on, which undici refuses
    const get = (ip: string, port: number) =>
      new Promise<string>((resolve, reject) => {
        execFile('curl', ['-sS', '-m', '3', `http://${ip}:${port}/cgi-bin/ip`], (err, stdout, stderr) =>
          err ? reject(new Error(stderr || err.message)) : resolve(stdout.trim().replace(/^\[::ffff:(.*)\]$/, '$1')),
        );
      });
    // this process sits on the bridge at 10.99.0.1: Local keeps that address
    const seen = await waitFor(() => get(h1.ip, np('solo-local')), 30_000, "Local NodePort on the endpoint's node");
    expect(seen).toBe('10.99.0.1');
    await expect(get(h2.ip, np('solo-local'))).rejects.toThrow(); // no local endpoint: dropped
    // Cluster policy answers on both nodes, masqueraded when it crosses to the other node
    expect(await waitFor(() => get(h1.ip, np('solo-cluster')), 30_000, 'Cluster NodePort on h1')).toMatch(
      /^\d+\.\d+\.\d+\.\d+$/,
    );
    const viaH2 = await waitFor(() => get(h2.ip, np('solo-cluster')), 30_000, 'Cluster NodePort on h2');
    expect(viaH2).not.toBe('10.99.0.1');
    k(s, ['delete', 'deployment/solo', 'svc/solo-local', 'svc/solo-cluster', '--wait=false']);
  }, 120_000);

  it('sends no traffic to a pod that is not ready', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: { name: web-notready, labels: { app: web } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${BUSYBOX}
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{ name: http, containerPort: 8080 }]
    readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 }
`,
    );
    await waitFor(
      () => {
        const nr = k(s, [
          'get',
          'endpoints',
          'web',
          '-o',
          'jsonpath={.subsets[*].notReadyAddresses[*].targetRef.name}',
        ]);
        if (!nr.includes('web-notready')) throw new Error(`notReady: ${nr}`);
      },
      30_000,
      'the pod listed as not ready',
    );
    const answers = await fetchMany('http://web/', 30);
    expect(answers.filter((l) => l === 'FAIL')).toEqual([]);
    expect(answers).not.toContain('web-notready');
    k(s, ['delete', 'pod', 'web-notready', '--wait=false']);
  }, 120_000);

  it('empties the endpoints when scaled to zero (connections refused at once), and fills them again', async () => {
    const t0 = Date.now();
    const lap = (what: string) =>
      process.stdout.write(`scale: ${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    k(s, ['scale', 'deployment/web', '--replicas=0']);
    await waitFor(
      () => {
        const eps = k(s, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets}']);
        const slices = k(s, [
          'get',
          'endpointslices',
          '-l',
          'kubernetes.io/service-name=web',
          '-o',
          'jsonpath={.items[*].endpoints}',
        ]);
        if (eps.trim() || slices.replace(/[[\]\s]/g, '')) throw new Error(`endpoints ${eps} slices ${slices}`);
      },
      60_000,
      'no endpoints',
    );
    lap('endpoints empty');
    await waitFor(
      async () => {
        const r = await inClient('timeout 5 wget -qO- http://web/ 2>&1; echo rc=$?');
        if (!/refused/i.test(r.stdout)) throw new Error(r.stdout);
      },
      15_000,
      'refused',
    );
    lap('refused');
    k(s, ['scale', 'deployment/web', '--replicas=2']);
    k(s, ['rollout', 'status', 'deployment/web', '--timeout=90s']);
    lap('rolled out again');
    await waitFor(
      async () => {
        const r = await inClient('timeout 5 wget -qO- http://web/');
        if (r.code !== 0) throw new Error(r.stderr);
      },
      30_000,
      'answers again',
    );
  }, 180_000);

  it('keeps the Service answering when a host dies: its pods move to the live host', async () => {
    const onH2 = () =>
      k(s, ['get', 'pods', '-l', 'app=web', '--field-selector', 'spec.nodeName=h2', '-o', 'name'])
        .split('\n')
        .filter(Boolean);
    // make sure h2 carries a backend (the spread constraint should have put one there)
    expect(onH2().length).toBeGreaterThan(0);
    const t0 = Date.now();
    await killHost(hosts[1]!);
    const moved = await waitFor(
      () => {
        const rows = k(s, [
          'get',
          'pods',
          '-l',
          'app=web',
          '-o',
          'jsonpath={range .items[*]}{.spec.nodeName}:{.status.conditions[?(@.type=="Ready")].status};{end}',
        ])
          .split(';')
          .filter(Boolean);
        if (rows.length !== 2 || !rows.every((r) => r === 'h1:True')) throw new Error(rows.join(' '));
        const eps = k(s, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].nodeName}'])
          .split(' ')
          .filter(Boolean);
        if (eps.length !== 2 || eps.some((n) => n !== 'h1')) throw new Error(`endpoints on ${eps}`);
        return (Date.now() - t0) / 1000;
      },
      90_000,
      'both backends Ready on h1',
    );
    const answers = await fetchMany('http://web/', 20);
    expect(answers.filter((l) => l === 'FAIL')).toEqual([]);
    process.stdout.write(
      `multi-node: backends moved off the dead host and serving ${moved.toFixed(1)} s after it was killed\n`,
    );
  }, 180_000);
});
