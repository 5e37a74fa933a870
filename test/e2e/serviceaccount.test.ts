// ServiceAccounts end to end: a real server and agent, real Docker, the real kubectl.
// `kubectl create sa` + `kubectl create token [--bound-object-kind Pod]` (protobuf
// TokenRequest) give a token that authenticates; a pod gets /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}
// from the projected kube-api-access volume (token issued to the agent, bound to the pod);
// that token lists pods (RBAC: a RoleBinding to view; used from the host, since busybox's
// wget cannot speak the API's TLS); once the pod is deleted the token is refused with 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  httpsRequest,
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
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

describe.skipIf(!enabled)('ServiceAccounts and tokens', () => {
  let s: ServerProc;
  let a: AgentProc;

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
  });
  afterAll(async () => {
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
  });

  it('kubectl create sa / create token: the token authenticates as the ServiceAccount', async () => {
    await eventually(
      () => expect(k(s, ['get', 'sa', 'default', '-o', 'name'])).toBe('serviceaccount/default\n'),
      10_000,
      100,
    );
    expect(JSON.parse(k(s, ['get', 'configmap', 'kube-root-ca.crt', '-o', 'json'])).data['ca.crt']).toBe(s.caPem);
    k(s, ['create', 'sa', 'app']);
    const token = k(s, ['create', 'token', 'app', '--duration', '20m']).trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.sub).toBe('system:serviceaccount:default:app');
    expect(claims.exp - claims.iat).toBe(1200);
    expect(kubectl(s, ['--token', token, 'get', '--raw', '/apis']).code).toBe(0);
    expect(k(s, ['--token', token, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).toBe(
      'system:serviceaccount:default:app',
    );
    const bad = kubectl(s, ['--token', `${token.slice(0, -4)}AAAA`, 'get', '--raw', '/apis']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Unauthorized/);
    const jwks = await httpsRequest(s, 'GET', '/openid/v1/jwks');
    expect(JSON.parse(jwks.body).keys[0].kid).toBe(
      JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid,
    );
  });

  it('a pod gets its token, CA and namespace; the token lists pods and dies with the pod', async () => {
    k(s, ['create', 'rolebinding', 'app-view', '--clusterrole', 'view', '--serviceaccount', 'default:app']);
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  serviceAccountName: app
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
`,
    );
    const p = JSON.parse(k(s, ['get', 'pod', 'client', '-o', 'json']));
    expect(p.spec.volumes.map((v: { name: string }) => v.name).join()).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    await eventually(
      () => expect(JSON.parse(k(s, ['get', 'pod', 'client', '-o', 'json'])).status.phase).toBe('Running'),
      60_000,
      250,
    );
    const exec = (...cmd: string[]) => k(s, ['exec', 'client', '--', ...cmd]);
    expect(exec('cat', `${SA_DIR}/namespace`)).toBe('default');
    expect(exec('cat', `${SA_DIR}/ca.crt`)).toBe(s.caPem);
    const token = exec('cat', `${SA_DIR}/token`);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims['kubernetes.io']).toMatchObject({
      namespace: 'default',
      pod: { name: 'client', uid: p.metadata.uid },
      serviceaccount: { name: 'app' },
    });
    expect(claims.exp - claims.iat).toBe(3607);
    expect(exec('sh', '-c', 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT').trim()).toMatch(
      /^\d+\.\d+\.\d+\.\d+:443$/,
    );

    // the token read from inside the pod, used from the host: busybox's wget cannot complete a
    // TLS handshake with the API (its built-in TLS lacks the server's ciphers)
    const pods = await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, token);
    expect(pods.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toContain('client');
    // RBAC: view in default only
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/kube-system/pods', undefined, {}, token)).status).toBe(
      403,
    );
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, token)).status).toBe(200);

    // kubectl create token --bound-object-kind Pod (boundObjectRef in the protobuf body)
    const bound = k(s, [
      'create',
      'token',
      'app',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'client',
    ]).trim();
    expect(JSON.parse(Buffer.from(bound.split('.')[1]!, 'base64url').toString())['kubernetes.io'].pod).toEqual({
      name: 'client',
      uid: p.metadata.uid,
    });
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, bound)).status).toBe(200);

    k(s, ['delete', 'pod', 'client', '--wait=true']);
    await eventually(
      async () =>
        expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, token)).status).toBe(
          401,
        ),
      10_000,
      100,
    );
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, bound)).status).toBe(401);
  });

  it('automountServiceAccountToken: false and a missing account', () => {
    k(s, ['create', 'sa', 'quiet']);
    k(s, ['patch', 'sa', 'quiet', '-p', '{"automountServiceAccountToken":false}']);
    k(s, [
      'run',
      'q',
      `--image=${BUSYBOX}`,
      '--overrides',
      '{"spec":{"serviceAccountName":"quiet"}}',
      '--',
      'sleep',
      '1',
    ]);
    expect(JSON.parse(k(s, ['get', 'pod', 'q', '-o', 'json'])).spec.volumes ?? []).toEqual([]);
    const r = kubectl(s, [
      'run',
      'g',
      `--image=${BUSYBOX}`,
      '--overrides',
      '{"spec":{"serviceAccountName":"ghost"}}',
      '--',
      'sleep',
      '1',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'pods "g" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    );
  });
});
