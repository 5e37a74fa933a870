// NetworkPolicy enforced by the agents on two simulated hosts (scripts/hosts.sh), driven with
// the real kubectl: web on h1 behind a NodePort Service, friend on h2, stranger on h1 (the
// same bridge as web), a pod in namespace team-a (labelled) on h2 and one in team-b on h1.
// Before any policy all talk; an ingress policy admitting role=friend (named port) blocks
// the stranger and admits the friend by pod IP, ClusterIP and NodePort; a namespaceSelector
// admits team-a and not team-b; a label change moves a pod in or out within 2 s; an egress
// policy without rules cuts a pod off, DNS included, until port 53 is allowed, and an
// ipBlock lets it reach one address; deleting the policies restores everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BUSYBOX, KUBECTL, k, kubectl, type AgentProc } from './harness.js';
import {
  hostExec,
  hostsAvailable,
  hostsDown,
  hostsUp,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
  HOSTS_HOOK_TIMEOUT_MS,
} from './hosts.js';

const enabled = hostsAvailable('NetworkPolicy e2e test');

// every pod serves its name on 8080 (named port http), so any of them can be a destination
const pod = (name: string, node: string, labels: string, ns = 'default') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: { ${labels} } }
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: ${BUSYBOX}
    command: [sh, -c, 'mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{ name: http, containerPort: 8080 }]
`;

const policy = (name: string, spec: string) => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name} }
spec:
${spec}`;

describe.skipIf(!enabled)('NetworkPolicy on two simulated hosts', () => {
  let hosts: Host[] = [];
  let s: HostServer;
  let agents: AgentProc[] = [];
  const ip: Record<string, string> = {};
  let clusterIP = '';
  let nodePort = 0;
  const diag = () =>
    `${process.env.NP_DEBUG ? hosts.map((h) => `=== ${h.name}\n${hostExec(h, ['sh', '-c', 'iptables-save -t filter; iptables-save -t nat | grep -v "^-A SKIFF-S[VE]"; ip route; cat /proc/sys/net/bridge/bridge-nf-call-iptables']).stdout}`).join('\n') : ''}${kubectl(s, ['get', 'pods,netpol', '-A', '-o', 'wide']).stdout}\n${agents
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

  beforeAll(async () => {
    hosts = await hostsUp(2);
    s = await startHostServer();
    agents = hosts.map((h) => startHostAgent(s, h, ['--network', 'skiff']));
    await waitFor(
      () => {
        const out = k(s, [
          'get',
          'nodes',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status};{end}',
        ]);
        if (out !== 'h1=True;h2=True;') throw new Error(out);
      },
      60_000,
      'both hosts Ready',
    );
    k(s, ['create', 'namespace', 'team-a']);
    k(s, ['label', 'namespace', 'team-a', 'team=a']);
    k(s, ['create', 'namespace', 'team-b']);
    k(
      s,
      ['apply', '-f', '-'],
      [
        pod('web', 'h1', 'app: web'),
        pod('friend', 'h2', 'role: friend'),
        pod('stranger', 'h1', 'role: stranger'),
        pod('a1', 'h2', 'role: member', 'team-a'),
        pod('b1', 'h1', 'role: member', 'team-b'),
      ].join('\n---\n'),
    );
    k(
      s,
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`,
    );
    await waitFor(
      () => {
        const out = k(s, [
          'get',
          'pods',
          '-A',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name}={.status.podIP},{.status.conditions[?(@.type=="Ready")].status};{end}',
        ]);
        const ready = out.split(';').filter((x) => /=\d+\.\d+\.\d+\.\d+,True$/.test(x));
        if (ready.length !== 5) throw new Error(`${out}\n${diag()}`);
        for (const r of ready) {
          const [name, rest] = r.split('=');
          ip[name!] = rest!.split(',')[0]!;
        }
      },
      90_000,
      'five pods Ready with IPs',
    );
    clusterIP = k(s, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    nodePort = Number(k(s, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    await waitFor(
      () => {
        if (!k(s, ['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}']))
          throw new Error('no endpoints');
      },
      30_000,
      'web has an endpoint',
    );
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.cleanup().catch(() => undefined);
    await hostsDown();
  }, 240_000);

  /** sh -c in a pod, without blocking this process */
  const exec = (
    p: string,
    cmd: string,
    ns = 'default',
    timeoutMs = 30_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const c = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          s.kubeconfig,
          '--cache-dir',
          join(s.dataDir, 'kube-cache'),
          '-n',
          ns,
          'exec',
          p,
          '--',
          'sh',
          '-c',
          cmd,
        ],
        { env: { ...process.env, HOME: s.dataDir } },
      );
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => {
        stdout += d;
      });
      c.stderr.on('data', (d) => {
        stderr += d;
      });
      const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
      c.on('close', (code) => {
        clearTimeout(t);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  const nsOf = (p: string) => (p === 'a1' ? 'team-a' : p === 'b1' ? 'team-b' : 'default');
  /** one HTTP GET from pod `from`: the page, or undefined when it did not get through in 2 s (busybox wget -T crashes: timeout(1) instead) */
  let lastErr = '';
  const get = async (from: string, url: string): Promise<string | undefined> => {
    const r = await exec(from, `timeout 2 wget -qO- ${url}`, nsOf(from));
    lastErr = r.stderr;
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const reaches = (from: string, url: string, want: string) =>
    waitFor(
      async () => {
        const got = await get(from, url);
        if (got !== want) throw new Error(`${from} -> ${url}: ${got ?? `no answer (${lastErr.trim()})`}\n${diag()}`);
      },
      20_000,
      `${from} reaches ${url}`,
    );
  const blocked = (from: string, url: string) =>
    waitFor(
      async () => {
        const got = await get(from, url);
        if (got !== undefined) throw new Error(`${from} -> ${url} still answers: ${got}`);
      },
      20_000,
      `${from} blocked from ${url}`,
    );
  const web = () => `http://${ip.web}:8080/`;
  const dns = async (from: string) =>
    (await exec(from, 'timeout 4 nslookup web.default.svc.cluster.local', nsOf(from))).stdout.includes(clusterIP);
  const npChains = (h: Host) =>
    hostExec(h, ['iptables-save', '-t', 'filter'])
      .stdout.split('\n')
      .filter((l) => /^:SKIFF-NP-[IEPX]-/.test(l));

  it('lets every pod talk before any policy', async () => {
    for (const from of ['stranger', 'b1', 'friend', 'a1']) await reaches(from, web(), 'web');
    await reaches('stranger', `http://${clusterIP}/`, 'web');
    await reaches('friend', `http://${hosts[1]!.ip}:${nodePort}/`, 'web');
    await reaches('stranger', `http://${hosts[0]!.ip}:${nodePort}/`, 'web');
    expect(await dns('stranger')).toBe(true);
  }, 120_000);

  it('admits only role=friend into web: by pod IP, ClusterIP and NodePort, from either host', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      policy(
        'web-friends',
        `
  podSelector: { matchLabels: { app: web } }
  ingress:
  - from: [{ podSelector: { matchLabels: { role: friend } } }]
    ports: [{ port: http }]
`,
      ),
    );
    const table = k(s, ['get', 'netpol']);
    expect(table).toMatch(/^NAME\s+POD-SELECTOR\s+AGE\nweb-friends\s+app=web\s+\d+s\n?$/);
    expect(JSON.parse(k(s, ['get', 'netpol', 'web-friends', '-o', 'json'])).spec.policyTypes).toEqual(['Ingress']);
    await blocked('stranger', web()); // same host: bridged traffic
    await reaches('friend', web(), 'web'); // other host: routed
    await reaches('friend', `http://${clusterIP}/`, 'web');
    // through its own node's NodePort the friend keeps its address (through another node's it
    // would arrive masqueraded as that node, as any traffic leaving the pod network)
    await reaches('friend', `http://${hosts[1]!.ip}:${nodePort}/`, 'web');
    await blocked('stranger', `http://${clusterIP}/`);
    await blocked('stranger', `http://${hosts[0]!.ip}:${nodePort}/`);
    await blocked('a1', web()); // other host, other namespace
    // validation as kube-apiserver
    const bad = kubectl(s, ['apply', '-f', '-'], {
      input: policy('bad', '  podSelector: {}\n  ingress: [{ ports: [{ port: 100, endPort: 99 }] }]\n'),
    });
    expect(bad.stderr).toContain(
      'spec.ingress[0].ports[0].endPort: Invalid value: 99: must be greater than or equal to `port`',
    );
  }, 180_000);

  it('admits a pod of a labelled namespace through a namespaceSelector, not one of another', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      policy(
        'web-team-a',
        `
  podSelector: { matchLabels: { app: web } }
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: a } } }] }]
`,
      ),
    );
    await reaches('a1', web(), 'web');
    await blocked('b1', web());
    await reaches('friend', web(), 'web'); // the policies add up
  }, 120_000);

  it("follows a pod's label within 2 s, both ways", async () => {
    // a loop in the stranger starting a GET every 100 ms: "s N" when attempt N starts, then
    // "ok N" or "no N"; a refused attempt takes wget's 1 s time-out to report, so the cut is
    // timed from the start of the first attempt that failed
    const watch = async (want: 'ok' | 'no', relabel: string) => {
      const loop = `i=0; end=$(($(date +%s)+15)); while [ $(date +%s) -lt $end ]; do i=$((i+1)); echo "s $i"; (if timeout 1 wget -qO- ${web()} >/dev/null 2>&1; then echo "ok $i"; else echo "no $i"; fi) & usleep 100000; done`;
      const c = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          s.kubeconfig,
          '--cache-dir',
          join(s.dataDir, 'kube-cache'),
          'exec',
          'stranger',
          '--',
          'sh',
          '-c',
          loop,
        ],
        { env: { ...process.env, HOME: s.dataDir } },
      );
      const started = new Map<number, number>();
      const result = new Map<number, string>();
      let buf = '';
      c.stdout.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          const [w, n] = l.split(' ');
          if (w === 's') started.set(Number(n), Date.now());
          else result.set(Number(n), `${w}@${Date.now()}`);
        }
      });
      try {
        await waitFor(
          () => {
            if (started.size < 3) throw new Error('not started');
          },
          20_000,
          'the probe loop started',
        );
        const t0 = Date.now();
        k(s, ['label', 'pod', 'stranger', relabel, '--overwrite']);
        const first = await waitFor(
          () => {
            const hit = [...result]
              .filter(([n, r]) => r.startsWith(`${want}@`) && started.get(n)! >= t0 - 1000)
              .sort((a, b) => a[0] - b[0])[0];
            if (!hit) throw new Error(`no ${want} yet`);
            return hit;
          },
          10_000,
          `traffic ${want === 'ok' ? 'admitted' : 'cut'} after the label change`,
        );
        return want === 'ok' ? Number(first[1].split('@')[1]) - t0 : Math.max(0, started.get(first[0])! - t0);
      } finally {
        c.kill('SIGKILL');
      }
    };
    const admitted = await watch('ok', 'role=friend');
    const cut = await watch('no', 'role=stranger');
    console.log(`label change -> traffic: admitted after ${admitted} ms, cut after ${cut} ms`);
    expect(admitted).toBeLessThan(2000);
    expect(cut).toBeLessThan(2000);
  }, 120_000);

  it('cuts a pod off with an egress policy without rules, DNS included, then lets port 53 and one ipBlock through', async () => {
    await reaches('stranger', `http://${ip.friend}:8080/`, 'friend');
    k(
      s,
      ['apply', '-f', '-'],
      policy(
        'stranger-out',
        `
  podSelector: { matchLabels: { role: stranger } }
  policyTypes: [Egress]
`,
      ),
    );
    await blocked('stranger', `http://${ip.friend}:8080/`);
    await blocked('stranger', `http://${ip.b1}:8080/`); // same host too
    await waitFor(
      async () => {
        if (await dns('stranger')) throw new Error('DNS still answers');
      },
      20_000,
      'DNS cut off',
    );
    k(
      s,
      ['apply', '-f', '-'],
      policy(
        'stranger-out',
        `
  podSelector: { matchLabels: { role: stranger } }
  policyTypes: [Egress]
  egress:
  - ports: [{ port: 53, protocol: UDP }, { port: 53, protocol: TCP }]
  - to: [{ ipBlock: { cidr: ${ip.friend}/32 } }]
`,
      ),
    );
    await waitFor(
      async () => {
        if (!(await dns('stranger'))) throw new Error('no DNS answer');
      },
      20_000,
      'DNS allowed by port 53',
    );
    await reaches('stranger', `http://${ip.friend}:8080/`, 'friend');
    await blocked('stranger', `http://${ip.a1}:8080/`);
    await blocked('stranger', `http://${ip.b1}:8080/`);
  }, 180_000);

  it('restores traffic when the policies are deleted, and removes their chains', async () => {
    expect(npChains(hosts[0]!).length).toBeGreaterThan(0);
    k(s, ['delete', 'netpol', '--all']);
    await reaches('stranger', web(), 'web');
    await reaches('stranger', `http://${ip.a1}:8080/`, 'a1');
    await reaches('b1', web(), 'web');
    expect(await dns('stranger')).toBe(true);
    await waitFor(
      () => {
        const c = [...npChains(hosts[0]!), ...npChains(hosts[1]!)];
        if (c.length) throw new Error(c.join(' '));
      },
      10_000,
      'per-pod chains removed',
    );
  }, 120_000);
});
