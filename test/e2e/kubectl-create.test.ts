// `kubectl create <kind>` against a real skiff-server: client-go 1.32 typed clients POST
// these objects as Kubernetes protobuf (`Content-Type: application/vnd.kubernetes.protobuf`,
// the `k8s\0` + runtime.Unknown envelope) and never fall back to JSON, so every generator
// below exercises the protobuf decoder. Malformed protobuf must get a Status, not a crash.
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, httpsRequest, k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** POST raw bytes (the harness helper sends strings, which would mangle binary bodies) */
function postBytes(
  s: ServerProc,
  path: string,
  body: Buffer,
  contentType = PROTOBUF,
): Promise<{ status: number; json: any }> {
  return new Promise((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.port,
        method: 'POST',
        path,
        ca: s.caPem,
        servername: 'localhost',
        headers: {
          'Content-Type': contentType,
          Accept: 'application/json',
          Authorization: `Bearer ${s.token}`,
          'Content-Length': String(body.length),
        },
      },
      (r) => {
        let b = '';
        r.setEncoding('utf8');
        r.on('data', (d) => {
          b += d;
        });
        r.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(b);
          } catch {
            json = undefined;
          }
          res({ status: r.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

/** a test-only protobuf length-delimited field (field numbers < 16, payloads < 128 bytes) */
function lField(field: number, payload: Buffer | string): Buffer {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (b.length > 127) throw new Error('test helper: payload too long');
  return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
}
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    lField(1, Buffer.concat([lField(1, apiVersion), lField(2, kind)])),
    lField(2, raw),
  ]);
}

const getJson = (s: ServerProc, args: string[]) => JSON.parse(k(s, ['get', ...args, '-o', 'json']));
const b64 = (v: string) => Buffer.from(v).toString('base64');
const unb64 = (v: string) => Buffer.from(v, 'base64').toString('utf8');

describe.skipIf(!haveKubectl)('kubectl create (protobuf request bodies)', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('create namespace', () => {
    expect(k(s, ['create', 'namespace', 'team'])).toContain('namespace/team created');
    const ns = getJson(s, ['namespace', 'team']);
    expect(ns.kind).toBe('Namespace');
    expect(ns.metadata.name).toBe('team');
    expect(ns.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(ns.status.phase).toBe('Active');
  });

  it('create configmap --from-literal (in a namespace)', () => {
    expect(k(s, ['create', 'configmap', 'c', '-n', 'team', '--from-literal=a=1', '--from-literal=b=two'])).toContain(
      'configmap/c created',
    );
    const cm = getJson(s, ['configmap', 'c', '-n', 'team']);
    expect(cm.data).toEqual({ a: '1', b: 'two' });
    expect(cm.metadata.namespace).toBe('team');
  });

  it('create secret generic: data is base64', () => {
    expect(k(s, ['create', 'secret', 'generic', 's', '--from-literal=pw=secret'])).toContain('secret/s created');
    const sec = getJson(s, ['secret', 's']);
    expect(sec.type).toBe('Opaque');
    expect(sec.data).toEqual({ pw: b64('secret') });
  });

  it('create secret tls', () => {
    const cert = join(s.dataDir, 'tls-test.crt');
    const key = join(s.dataDir, 'tls-test.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=skiff.test',
      ],
      { stdio: 'ignore' },
    );
    expect(k(s, ['create', 'secret', 'tls', 't', `--cert=${cert}`, `--key=${key}`])).toContain('secret/t created');
    const sec = getJson(s, ['secret', 't']);
    expect(sec.type).toBe('kubernetes.io/tls');
    expect(unb64(sec.data['tls.crt'])).toContain('-----BEGIN CERTIFICATE-----');
    expect(unb64(sec.data['tls.key'])).toContain('PRIVATE KEY-----');
  });

  it('create secret docker-registry', () => {
    expect(
      k(s, [
        'create',
        'secret',
        'docker-registry',
        'r',
        '--docker-server=x',
        '--docker-username=u',
        '--docker-password=p',
      ]),
    ).toContain('secret/r created');
    const sec = getJson(s, ['secret', 'r']);
    expect(sec.type).toBe('kubernetes.io/dockerconfigjson');
    const cfg = JSON.parse(unb64(sec.data['.dockerconfigjson']));
    expect(cfg.auths.x).toMatchObject({ username: 'u', password: 'p', auth: b64('u:p') });
  });

  it('create deployment --replicas --port', () => {
    expect(k(s, ['create', 'deployment', 'web', `--image=${BUSYBOX}`, '--replicas=2', '--port=8080'])).toContain(
      'deployment.apps/web created',
    );
    const d = getJson(s, ['deployment', 'web']);
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(d.metadata.labels).toEqual({ app: 'web' });
    const c = d.spec.template.spec.containers[0];
    expect(c.name).toBe('busybox');
    expect(c.image).toBe(BUSYBOX);
    expect(c.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    // defaults applied to the decoded object exactly as to a JSON one
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    expect(d.spec.template.spec.restartPolicy).toBe('Always');
  });

  it('create job -- command', () => {
    expect(k(s, ['create', 'job', 'j', `--image=${BUSYBOX}`, '--', 'echo', 'hi'])).toContain('job.batch/j created');
    const j = getJson(s, ['job', 'j']);
    const c = j.spec.template.spec.containers[0];
    expect(c.name).toBe('j');
    expect(c.image).toBe(BUSYBOX);
    expect(c.command).toEqual(['echo', 'hi']);
    expect(j.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('create cronjob --schedule -- command', () => {
    expect(
      k(s, ['create', 'cronjob', 'cj', `--image=${BUSYBOX}`, '--schedule=*/5 * * * *', '--', 'echo', 'hi']),
    ).toContain('cronjob.batch/cj created');
    const cj = getJson(s, ['cronjob', 'cj']);
    expect(cj.spec.schedule).toBe('*/5 * * * *');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.restartPolicy).toBe('OnFailure');
    expect(pod.containers[0]).toMatchObject({ name: 'cj', image: BUSYBOX, command: ['echo', 'hi'] });
    expect(cj.spec.jobTemplate.metadata.name).toBe('cj');
  });

  it('create service clusterip --tcp', () => {
    expect(k(s, ['create', 'service', 'clusterip', 'svc', '--tcp=80:8080'])).toContain('service/svc created');
    const svc = getJson(s, ['service', 'svc']);
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.selector).toEqual({ app: 'svc' });
    expect(svc.spec.ports).toEqual([{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]);
  });

  it('create service nodeport --node-port', () => {
    expect(k(s, ['create', 'service', 'nodeport', 'np', '--tcp=80:8080', '--node-port=30080'])).toContain(
      'service/np created',
    );
    const svc = getJson(s, ['service', 'np']);
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports).toEqual([{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }]);
  });

  it('create serviceaccount', () => {
    expect(k(s, ['create', 'serviceaccount', 'sa'])).toContain('serviceaccount/sa created');
    const sa = getJson(s, ['serviceaccount', 'sa']);
    expect(sa.kind).toBe('ServiceAccount');
    expect(sa.metadata.name).toBe('sa');
  });

  it('errors from a protobuf create still reach kubectl as Status (AlreadyExists)', () => {
    const r = kubectl(s, ['create', 'namespace', 'team']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('namespaces "team" already exists');
  });

  it('malformed or unsupported protobuf gets a 400/415 Status and the server keeps serving', async () => {
    const good = envelope('v1', 'ConfigMap', lField(1, lField(1, 'raw-ok')));
    const ok = await postBytes(s, '/api/v1/namespaces/default/configmaps', good);
    expect(ok.status).toBe(201);
    expect(ok.json.metadata.name).toBe('raw-ok');

    const cases: Array<[string, Buffer, number]> = [
      ['garbage after the magic', Buffer.from('k8s\0garbage', 'latin1'), 400],
      ['wrong magic', Buffer.from('k9s\0\x0a\x00', 'latin1'), 400],
      ['JSON sent as protobuf', Buffer.from('{"kind":"ConfigMap"}'), 400],
      ['truncated', good.subarray(0, good.length - 3), 400],
      ['only the magic prefix, half of it', Buffer.from('k8', 'latin1'), 400],
      [
        'a length running past the end',
        Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x12, 0x7f, 0x0a])]),
        400,
      ],
      ['random bytes', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 73 + 11) & 0xff)), 400],
      [
        'a kind without a protobuf table',
        envelope('networking.k8s.io/v1', 'NetworkPolicy', lField(1, lField(1, 'r'))),
        415,
      ],
    ];
    for (const [what, body, code] of cases) {
      const r = await postBytes(s, '/api/v1/namespaces/default/configmaps', body);
      expect(r.status, what).toBe(code);
      expect(r.json?.kind, what).toBe('Status');
      expect(r.json?.code, what).toBe(code);
      if (code === 415) expect(r.json.message).toContain('protobuf bodies are supported only for');
    }
    // the kind in the envelope must match the endpoint, as for JSON
    const mismatch = await postBytes(
      s,
      '/api/v1/namespaces/default/configmaps',
      envelope('v1', 'Secret', lField(1, lField(1, 'x'))),
    );
    expect(mismatch.status).toBe(400);

    expect((await httpsRequest(s, 'GET', '/readyz', undefined, {}, null)).status).toBe(200);
    expect(k(s, ['get', 'configmap', 'raw-ok', '-o', 'name'])).toContain('configmap/raw-ok');
    expect(s.proc.exitCode).toBeNull();
  });
});
