// Ingress end to end: a real server, two agents on this machine (Docker's bridge network, so
// pods have real IPs; each agent's ingress listeners on their own free high ports), the real
// kubectl. `kubectl create ingress` (a protobuf body) for site.test in front of a
// 2-replica busybox httpd Deployment: every node's ingress port answers with the Host
// header the pod saw, both pods serve, other hosts get 404; a second rule routes /api to
// another Service; a kubernetes.io/tls Secret is served by SNI (verified against the test
// CA) while other names get the default certificate; scaling to 0 gives 503 and back to 2
// serves again; changing the Ingress reroutes within seconds while a streaming response
// that began before the change runs to its end. status.loadBalancer lists the nodes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  freePort,
  k,
  kubectl,
  kubectlAvailable,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();

// CGI answers need CRLF after the header, or Node's (strict) HTTP parser refuses them
const SCRIPTS = {
  host: '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n\'\necho "$(cat /role) $HTTP_HOST $HOSTNAME"\n',
  // streams "first", then waits (at most 120 s) until the test creates /tmp/release in the pod
  slow: '#!/bin/sh\nprintf \'Content-Type: text/plain\\r\\n\\r\\n\'\necho "first $HOSTNAME"\ni=0\nwhile [ ! -f /tmp/release ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done\necho last\n',
};

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image: BUSYBOX,
            imagePullPolicy: 'IfNotPresent',
            command: [
              'sh',
              '-c',
              `echo ${name} > /role && mkdir -p /www/api && echo ${name} > /www/index.html && echo ${name} > /www/api/index.html && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait`,
            ],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/index.html', port: 'http' }, periodSeconds: 1 },
            volumeMounts: [{ name: 'cgi', mountPath: '/www/cgi-bin' }],
          },
        ],
        volumes: [{ name: 'cgi', configMap: { name: 'cgi', defaultMode: 0o755 } }],
      },
    },
  },
});

const service = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});

interface Reply {
  status: number;
  body: string;
}

function get(port: number, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, path, headers: { Host: host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

function getTLS(port: number, servername: string, ca: string | undefined): Promise<Reply & { subject: string }> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/cgi-bin/host',
        servername,
        headers: { Host: servername },
        ...(ca ? { ca } : { rejectUnauthorized: false }),
        timeout: 10_000,
      },
      (res) => {
        const subject = (res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '';
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, subject: String(subject) }));
      },
    );
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end();
  });
}

describe.skipIf(!enabled)("Ingress: the agents' built-in controller", () => {
  let s: ServerProc;
  const agents: AgentProc[] = [];
  const ports: { http: number; https: number }[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'skiff-ingress-e2e-'));
  const apply = (obj: unknown) => k(s, ['apply', '-f', '-'], JSON.stringify(obj));
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));

  beforeAll(async () => {
    s = await startServer();
    for (let i = 0; i < 2; i++) {
      const p = { http: await freePort(), https: await freePort() };
      ports.push(p);
      agents.push(
        startAgent(s, { args: ['--ingress-http-port', String(p.http), '--ingress-https-port', String(p.https)] }),
      );
    }
    await eventually(
      () => {
        for (const a of agents) expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/);
      },
      60_000,
      200,
    );
    k(s, [
      'create',
      'configmap',
      'cgi',
      '--from-literal',
      `host=${SCRIPTS.host}`,
      '--from-literal',
      `slow=${SCRIPTS.slow}`,
    ]);
    apply(deployment('web', 2));
    apply(deployment('api', 1));
    apply(service('web'));
    apply(service('api'));
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) await a.kill();
    await s?.cleanup();
    for (const a of agents) removeNodeContainers(a.node);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('kubectl create ingress: the skiff class by default, the table, status addresses of the nodes', async () => {
    expect(
      k(s, ['get', 'ingressclass'])
        .trim()
        .split('\n')
        .map((l) =>
          l
            .trim()
            .split(/\s{2,}/)
            .slice(0, 3),
        ),
    ).toEqual([
      ['NAME', 'CONTROLLER', 'PARAMETERS'],
      ['skiff', 'skiff.io/ingress', '<none>'],
    ]);
    const r = kubectl(s, ['create', 'ingress', 'site', '--rule=site.test/*=web:80', '--rule=site.test/api*=api:http']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ingress.networking.k8s.io/site created');
    const ing = json(['get', 'ingress', 'site']);
    expect(ing.spec.ingressClassName).toBe('skiff');
    expect(
      ing.spec.rules[0].http.paths.map((p: { path: string; pathType: string }) => `${p.path} ${p.pathType}`),
    ).toEqual(['/ Prefix', '/api Prefix']);
    const nodeIPs = [
      ...new Set(
        agents.map(
          (a) =>
            json(['get', 'node', a.node]).status.addresses.find((x: { type: string }) => x.type === 'InternalIP')
              .address as string,
        ),
      ),
    ].sort();
    await eventually(
      () => expect(json(['get', 'ingress', 'site']).status.loadBalancer.ingress).toEqual(nodeIPs.map((ip) => ({ ip }))),
      30_000,
      200,
    );
    const rows = k(s, ['get', 'ingress'])
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    expect(rows[1]!.slice(0, 5)).toEqual(['site', 'skiff', 'site.test', nodeIPs.join(','), '80']);
  }, 60_000);

  it("every node's ingress port routes site.test to both pods with the Host header, /api to the other Service, 404 elsewhere", async () => {
    for (const p of ports) {
      const seen = new Set<string>();
      await eventually(
        async () => {
          const r = await get(p.http, 'site.test', '/cgi-bin/host');
          expect(r.status).toBe(200);
          const [role, host, pod] = r.body.trim().split(' ');
          expect([role, host]).toEqual(['web', 'site.test']);
          seen.add(pod!);
          expect(seen.size).toBe(2); // round robin reaches both replicas
        },
        90_000,
        100,
      );
      expect(await get(p.http, 'other.test', '/')).toEqual({ status: 404, body: '404 page not found\n' });
      await eventually(
        async () => expect(await get(p.http, 'site.test', '/api/index.html')).toEqual({ status: 200, body: 'api\n' }),
        60_000,
        200,
      );
      expect((await get(p.http, 'site.test', '/apiary/')).status).toBe(404); // Prefix /api is element-wise: web answers, and has no /apiary
    }
  }, 180_000);

  it('TLS by SNI from a kubernetes.io/tls Secret; other names get the default certificate', async () => {
    const ca = join(tmp, 'ca');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${ca}.key`,
        '-out',
        `${ca}.crt`,
        '-days',
        '2',
        '-subj',
        '/CN=skiff e2e ingress CA',
      ],
      { stdio: 'pipe' },
    );
    const leaf = join(tmp, 'site');
    execFileSync(
      'openssl',
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${leaf}.key`,
        '-out',
        `${leaf}.csr`,
        '-subj',
        '/CN=site.test',
      ],
      { stdio: 'pipe' },
    );
    writeFileSync(`${leaf}.ext`, 'subjectAltName=DNS:site.test\n');
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${leaf}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${leaf}.crt`,
        '-days',
        '2',
        '-extfile',
        `${leaf}.ext`,
      ],
      { stdio: 'pipe' },
    );
    k(s, ['create', 'secret', 'tls', 'site-tls', '--cert', `${leaf}.crt`, '--key', `${leaf}.key`]);
    k(s, [
      'patch',
      'ingress',
      'site',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { tls: [{ hosts: ['site.test'], secretName: 'site-tls' }] } }),
    ]);
    const caPem = readFileSync(`${ca}.crt`, 'utf8');
    for (const p of ports) {
      await eventually(
        async () => {
          const r = await getTLS(p.https, 'site.test', caPem);
          expect(r.status).toBe(200);
          expect(r.subject).toBe('site.test');
          expect(r.body).toMatch(/^web site\.test /);
        },
        30_000,
        200,
      );
      const other = await getTLS(p.https, 'other.test', undefined);
      expect(other.subject).toBe('skiff ingress default certificate');
      expect(other.status).toBe(404);
    }
    expect(
      k(s, ['get', 'ingress', 'site', '--no-headers'])
        .trim()
        .split(/\s{2,}/)[4],
    ).toBe('80, 443');
  }, 60_000);

  it('scaling the backend to 0 gives 503, back to 2 serves again', async () => {
    k(s, ['scale', 'deployment', 'web', '--replicas=0']);
    await eventually(async () => expect((await get(ports[0]!.http, 'site.test', '/')).status).toBe(503), 60_000, 200);
    k(s, ['scale', 'deployment', 'web', '--replicas=2']);
    await eventually(
      async () => expect(await get(ports[0]!.http, 'site.test', '/')).toEqual({ status: 200, body: 'web\n' }),
      90_000,
      200,
    );
  }, 180_000);

  it('an Ingress update reroutes within seconds and an open streaming response still completes', async () => {
    const port = ports[1]!.http;
    let first = '';
    let ended = false;
    const stream = new Promise<Reply>((resolve, reject) => {
      const r = httpRequest(
        { host: '127.0.0.1', port, path: '/cgi-bin/slow', headers: { Host: 'site.test' } },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
            if (!first) first = body;
          });
          res.on('end', () => {
            ended = true;
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      r.on('error', reject);
      r.end();
    });
    await eventually(() => expect(first).toMatch(/^first \S+\n/), 30_000, 50);
    const pod = first.trim().split(' ')[1]!;
    // /api now goes to web as well
    k(s, [
      'patch',
      'ingress',
      'site',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          rules: [
            {
              host: 'site.test',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
                  { path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
                ],
              },
            },
          ],
        },
      }),
    ]);
    const t0 = Date.now();
    await eventually(
      async () => expect(await get(port, 'site.test', '/api/index.html')).toEqual({ status: 200, body: 'web\n' }),
      30_000,
      100,
    );
    console.log(`ingress update applied on the node in ${Date.now() - t0} ms`);
    expect(ended).toBe(false); // the stream is held open by the pod until released
    k(s, ['exec', pod, '--', 'touch', '/tmp/release']);
    expect(await stream).toEqual({ status: 200, body: `first ${pod}\nlast\n` });
  }, 120_000);
});
