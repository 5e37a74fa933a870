// The audit log and anonymous access of a real skiff-server driven by the real kubectl and
// curl: a request RBAC denies and one it allows are recorded with the user's name and the
// decision, impersonation as impersonatedUser, the log rotates at --audit-log-maxsize
// keeping --audit-log-maxbackup files, a bad policy stops the start; --anonymous-auth=true
// serves /version and /healthz without a token and refuses /api/v1/pods with
// Kubernetes' 403, while the default answers 401.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SERVER_BIN,
  eventually,
  freePort,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  startServer,
  type ServerProc,
} from './harness.js';

const haveKubectl = kubectlAvailable();
const ALICE = 'alice-audit-token';
const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    nonResourceURLs: ["/readyz", "/livez"]
  - level: RequestResponse
    resources: [{group: "", resources: ["configmaps"]}]
    namespaces: ["big"]
  - level: Metadata
`;

interface Ev {
  stage: string;
  verb: string;
  level: string;
  requestURI: string;
  auditID: string;
  user: { username?: string; groups?: string[] };
  impersonatedUser?: { username?: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  userAgent?: string;
  responseStatus?: { code?: number; message?: string; reason?: string };
  annotations?: Record<string, string>;
  requestObject?: unknown;
  responseObject?: unknown;
}

/** every complete line of the live file and its backups (a file may be renamed or half-written while we read) */
function readEvents(dir: string): Ev[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('audit') && f.endsWith('.log'))
    .sort()
    .flatMap((f) => {
      let text = '';
      try {
        text = readFileSync(join(dir, f), 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as Ev);
    });
}

function curl(s: ServerProc, path: string): { code: number; body: string } {
  const r = spawnSync('curl', ['-sk', '-w', '\n%{http_code}', `https://127.0.0.1:${s.port}${path}`], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  const out = r.stdout ?? '';
  const i = out.lastIndexOf('\n');
  return { code: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

describe.skipIf(!haveKubectl)('audit log and anonymous access', () => {
  let s: ServerProc;
  let anon: ServerProc | undefined;
  let dir: string;
  let logDir: string;
  const alice = (args: string[]) => kubectl(s, ['--token', ALICE, ...args]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-audit-e2e-'));
    logDir = join(dir, 'logs');
    writeFileSync(join(dir, 'tokens.csv'), `${ALICE},alice,alice-uid,dev\n`);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    s = await startServer([
      '--token-auth-file',
      join(dir, 'tokens.csv'),
      '--audit-log-path',
      join(logDir, 'audit.log'),
      '--audit-policy-file',
      join(dir, 'policy.yaml'),
      '--audit-log-maxsize',
      '1',
      '--audit-log-maxbackup',
      '2',
    ]);
    k(s, ['create', 'namespace', 'demo']);
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
    await anon?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a denied and an allowed kubectl request with the user, the code and the decision', async () => {
    const denied = alice(['get', 'pods', '-n', 'demo']);
    expect(denied.stderr).toContain(
      'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "demo"',
    );
    k(s, ['get', 'pods', '-n', 'demo']);
    const [forbid, allow] = await eventually(() => {
      const evs = readEvents(logDir).filter(
        (e) => e.objectRef?.resource === 'pods' && e.objectRef.namespace === 'demo' && e.verb === 'list',
      );
      const f = evs.find((e) => e.user.username === 'alice');
      const a = evs.find((e) => e.user.username === 'admin');
      if (!f || !a) throw new Error(`not logged yet: ${JSON.stringify(evs)}`);
      return [f, a];
    });
    expect(forbid).toMatchObject({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      stage: 'ResponseComplete',
      verb: 'list',
      user: { username: 'alice', groups: ['dev', 'system:authenticated'] },
      objectRef: { resource: 'pods', namespace: 'demo', apiVersion: 'v1' },
      responseStatus: {
        code: 403,
        reason: 'Forbidden',
        message: 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "demo"',
      },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    });
    expect(forbid.userAgent).toMatch(/^kubectl\/v1\.32/);
    expect(allow).toMatchObject({
      user: { username: 'admin' },
      responseStatus: { code: 200 },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
    });
    expect(readEvents(logDir).some((e) => e.stage === 'RequestReceived' || e.requestURI === '/readyz')).toBe(false);
    expect(statSync(join(logDir, 'audit.log')).mode & 0o777).toBe(0o600);
  });

  it('impersonation appears as impersonatedUser; the Audit-Id header names the event', async () => {
    const r = kubectl(s, ['get', 'configmaps', '-n', 'demo', '--as', 'bob', '--as-group', 'ops']);
    expect(r.stderr).toContain('User "bob" cannot list resource "configmaps"');
    const ev = await eventually(() => {
      const e = readEvents(logDir).find(
        (x) => x.impersonatedUser?.username === 'bob' && x.objectRef?.resource === 'configmaps',
      );
      if (!e) throw new Error('not logged yet');
      return e;
    });
    expect(ev).toMatchObject({
      user: { username: 'admin' },
      impersonatedUser: { username: 'bob', groups: ['ops', 'system:authenticated'] },
      responseStatus: { code: 403 },
    });
    const h = await httpsRequest(s, 'GET', '/api/v1/namespaces/demo/services');
    const id = h.headers['audit-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(() => {
      if (!readEvents(logDir).some((e) => e.auditID === id && e.verb === 'list')) throw new Error('not logged yet');
    });
  });

  it('Pod Security admission annotates the event (audit mode violations, enforce policy)', async () => {
    k(s, ['create', 'namespace', 'psa-audit']);
    k(s, ['label', 'namespace', 'psa-audit', 'pod-security.kubernetes.io/audit=restricted']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'priv', namespace: 'psa-audit' },
      spec: { containers: [{ name: 'c', image: 'skiff.local/busybox:1.36', securityContext: { privileged: true } }] },
    };
    const dir2 = mkdtempSync(join(tmpdir(), 'skiff-audit-pod-'));
    writeFileSync(join(dir2, 'pod.json'), JSON.stringify(pod));
    k(s, ['create', '-f', join(dir2, 'pod.json')]);
    rmSync(dir2, { recursive: true, force: true });
    const ev = await eventually(() => {
      const e = readEvents(logDir).find(
        (x) => x.verb === 'create' && x.objectRef?.resource === 'pods' && x.objectRef.namespace === 'psa-audit',
      );
      if (!e) throw new Error('not logged yet');
      return e;
    });
    expect(ev.annotations?.['pod-security.kubernetes.io/enforce-policy']).toBe('privileged:latest');
    expect(ev.annotations?.['pod-security.kubernetes.io/audit-violations']).toContain(
      'would violate PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true)',
    );
  });

  it('controllers write under their own names (deployment-controller, replicaset-controller)', async () => {
    k(s, ['create', 'deployment', 'who', '-n', 'demo', '--image', 'skiff.local/busybox:1.36']);
    const [rsEv, podEv] = await eventually(() => {
      const evs = readEvents(logDir);
      const r = evs.find(
        (e) => e.verb === 'create' && e.objectRef?.resource === 'replicasets' && e.objectRef.namespace === 'demo',
      );
      const p = evs.find(
        (e) =>
          e.verb === 'create' &&
          e.objectRef?.resource === 'pods' &&
          e.objectRef.namespace === 'demo' &&
          e.user.username?.endsWith('replicaset-controller'),
      );
      if (!r || !p) throw new Error('not logged yet');
      return [r, p];
    });
    expect(rsEv).toMatchObject({
      user: { username: 'system:serviceaccount:kube-system:deployment-controller' },
      userAgent: 'skiff-server/deployment-controller',
      responseStatus: { code: 201 },
    });
    expect(podEv).toMatchObject({
      user: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      responseStatus: { code: 201 },
    });
  });

  it('rotates at --audit-log-maxsize and keeps --audit-log-maxbackup files', async () => {
    k(s, ['create', 'namespace', 'big']);
    const data = join(dir, 'blob.txt');
    writeFileSync(data, 'x'.repeat(300 * 1024));
    for (let i = 0; i < 6; i++) k(s, ['create', 'configmap', `big-${i}`, '-n', 'big', `--from-file=blob=${data}`]);
    // the writer renames, then removes the oldest: read until retention has settled
    const { backups, last } = await eventually(() => {
      const b = readdirSync(logDir).filter((f) => /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log$/.test(f));
      const l = readEvents(logDir).find(
        (e) => e.verb === 'create' && e.objectRef?.namespace === 'big' && e.objectRef.name === 'big-5',
      );
      if (b.length !== 2 || !l) throw new Error(`backups ${b.join(',')}, big-5 logged: ${!!l}`);
      for (const f of [...b, 'audit.log']) expect(statSync(join(logDir, f)).size).toBeLessThanOrEqual(1024 * 1024);
      return { backups: b, last: l };
    });
    expect(backups).toHaveLength(2);
    expect(last.level).toBe('RequestResponse');
    expect(last.responseObject).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'big-5', namespace: 'big' } });
    const metrics = await httpsRequest(s, 'GET', '/metrics', undefined, { Accept: 'text/plain' });
    expect(Number(/^apiserver_audit_event_total (\d+)/m.exec(metrics.body)?.[1])).toBeGreaterThan(10);
    expect(metrics.body).toMatch(/^apiserver_audit_level_total\{level="RequestResponse"\} [1-9]/m);
  });

  it('without --anonymous-auth a request with no token is 401 (and audited without a user)', async () => {
    const r = curl(s, '/api/v1/pods');
    expect(r.code).toBe(401);
    expect(curl(s, '/version').code).toBe(200);
    await eventually(() => {
      const e = readEvents(logDir).find((x) => x.responseStatus?.code === 401);
      if (!e) throw new Error('not logged yet');
      expect(e).toMatchObject({
        stage: 'ResponseStarted',
        user: {},
        responseStatus: { message: 'Authentication failed, no credentials provided' },
      });
    });
  });

  it('a policy file that does not load stops the start with a clear message', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n');
    const port = await freePort();
    const r = spawnSync(
      process.execPath,
      [
        SERVER_BIN,
        '--data-dir',
        join(dir, 'bad-data'),
        '--listen',
        `127.0.0.1:${port}`,
        '--audit-log-path',
        join(dir, 'bad.log'),
        '--audit-policy-file',
        join(dir, 'bad.yaml'),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `skiff-server: audit policy ${join(dir, 'bad.yaml')} is invalid: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse"`,
    );
  });

  it('--anonymous-auth=true: /version and /healthz answer without a token, /api/v1/pods is refused by RBAC, a bad token is 401', async () => {
    anon = await startServer(['--anonymous-auth=true']);
    const v = curl(anon, '/version');
    expect(v.code).toBe(200);
    expect(JSON.parse(v.body).gitVersion).toMatch(/^v1\./);
    expect(curl(anon, '/healthz')).toEqual({ code: 200, body: 'ok' });
    const pods = curl(anon, '/api/v1/pods');
    expect(pods.code).toBe(403);
    expect(JSON.parse(pods.body)).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message:
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
    });
    const bad = await httpsRequest(anon, 'GET', '/api/v1/pods', undefined, {}, 'not-a-token');
    expect(bad.status).toBe(401);
    expect(k(anon, ['get', 'pods', '-A'])).toBeDefined();
  }, 60_000);
});
