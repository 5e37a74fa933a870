// ServiceAccount tokens proven from inside a pod: a real server, an agent on a simulated
// host (scripts/hosts.sh) managing the pod network (--network skiff: Service proxy and
// cluster DNS), real Docker, the real kubectl. The pod runs skiff.local/node-client:1
// (scripts/build-test-images.sh: node's https with the mounted token and ca.crt, the server
// certificate verified; and @kubernetes/client-node's loadFromCluster) and lists pods through https://kubernetes.default.svc and through
// KUBERNETES_SERVICE_HOST/PORT as RBAC allows, gets 403 for what its Role does not allow;
// the agent renews the projected token while the pod runs and the new one works; once the
// pod is deleted the token copied out of it is refused (401); a pod with
// automountServiceAccountToken: false has no token directory.
//
// The renewal: Kubernetes' shortest token lives 10 minutes (TokenRequest and projected
// volumes refuse less), so the agent runs with the hidden, test-only
// --token-refresh-test-scale 200: it asks the server for a new token 200 times sooner than
// kubelet's 80 % mark (3607 s → ~14.4 s). Everything else — the pod worker's timer, the
// TokenRequest over the agent's connection, the server's signing, the projected volume's
// atomic rewrite, the client reading the file again — is what runs in production.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest, k, kubectl, type AgentProc } from './harness.js';
import {
  HOSTS_HOOK_TIMEOUT_MS,
  hostDocker,
  hostsAvailable,
  hostsDown,
  hostsUp,
  startHostAgent,
  startHostServer,
  waitFor,
  type Host,
  type HostServer,
} from './hosts.js';

const enabled = hostsAvailable('in-pod ServiceAccount e2e test');
const NODE_CLIENT = 'skiff.local/node-client:1';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const CLIENT = ['node', '/usr/local/lib/kube-client.mjs'];
/** @kubernetes/client-node's KubeConfig.loadFromCluster + CoreV1Api.listNamespacedPod, bundled */
const CLIENT_NODE = ['node', '/usr/local/lib/client-node-list.cjs'];
/** the 80 % mark of a kube-api-access token (3607 s → 2886 s) reached this many times sooner */
const REFRESH_SCALE = 200;

type Claims = { iat: number; exp: number; jti: string; 'kubernetes.io': { pod: { name: string; uid: string } } };
const claimsOf = (token: string): Claims => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

/** the node-client image in the host's dockerd (no registry: saved from this machine's engine) */
function loadNodeClient(h: Host): void {
  const want = spawnSync('docker', ['image', 'inspect', '-f', '{{.Id}}', NODE_CLIENT], { encoding: 'utf8' });
  if (want.status !== 0) throw new Error(`${NODE_CLIENT} is missing: run scripts/build-test-images.sh`);
  if (hostDocker(h, ['image', 'inspect', '-f', '{{.Id}}', NODE_CLIENT]).stdout.trim() === want.stdout.trim()) return;
  const r = spawnSync('sh', ['-c', `docker save ${NODE_CLIENT} | docker -H ${h.dockerSocket} load -q`], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`loading ${NODE_CLIENT} into ${h.name} failed: ${r.stderr}`);
}

const pod = (name: string, sa: string, extra = '') => `
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  serviceAccountName: ${sa}
  nodeName: h1
  terminationGracePeriodSeconds: 0
  containers: [{ name: main, image: ${NODE_CLIENT}, command: [sleep, '3600'] }]
${extra}`;

describe.skipIf(!enabled)('ServiceAccount tokens inside a pod (node-client image, cluster network)', () => {
  let h1: Host;
  let s: HostServer;
  let agent: AgentProc;
  const diag = () =>
    `${kubectl(s, ['get', 'pods,svc,endpoints', '-o', 'wide']).stdout}\n${kubectl(s, ['get', 'events']).stdout.split('\n').slice(-10).join('\n')}\n--- agent\n${agent
      .output()
      .split('\n')
      .filter((l) => /"level":[45]0/.test(l))
      .slice(-10)
      .join('\n')}`;
  /** kubectl exec in a pod; the command's own exit code and output */
  const exec = (name: string, cmd: string[]) => kubectl(s, ['exec', name, '--', ...cmd], { timeoutMs: 60_000 });
  /** an in-pod client (kube-client.mjs unless `client` says otherwise): `HTTP <status>` and the body */
  const api = (name: string, args: string[], client = CLIENT) => {
    const r = exec(name, [...client, ...args]);
    if (r.code !== 0)
      throw new Error(`kube-client ${args.join(' ')} in ${name} exited ${r.code}: ${r.stderr}\n${diag()}`);
    const nl = r.stdout.indexOf('\n');
    return {
      status: Number(r.stdout.slice(5, nl)),
      body: JSON.parse(r.stdout.slice(nl + 1)) as { items?: { metadata: { name: string } }[]; message?: string },
    };
  };
  const podsStarted: Record<string, number> = {};

  beforeAll(async () => {
    [h1] = await hostsUp(1);
    const t0 = Date.now();
    loadNodeClient(h1!);
    console.info(`[serviceaccount-inpod] ${NODE_CLIENT} loaded into h1 in ${Date.now() - t0} ms`);
    s = await startHostServer();
    agent = startHostAgent(s, h1!, ['--network', 'skiff', '--token-refresh-test-scale', String(REFRESH_SCALE)]);
    await waitFor(
      () => {
        const out = k(s, [
          'get',
          'node',
          'h1',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status},{.spec.podCIDR}',
        ]);
        if (!/^True,10\./.test(out)) throw new Error(out);
      },
      60_000,
      'h1 Ready with a pod subnet',
    );
    await waitFor(
      () => {
        k(s, ['get', 'sa', 'default']);
      },
      20_000,
      'the default ServiceAccount',
    );
    k(s, ['create', 'sa', 'lister']);
    k(s, ['create', 'sa', 'quiet']);
    k(s, ['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
    k(s, ['create', 'rolebinding', 'lister-reads-pods', '--role=pod-reader', '--serviceaccount=default:lister']);
    const start = Date.now();
    k(s, ['apply', '-f', '-'], pod('client', 'lister'));
    k(s, ['apply', '-f', '-'], pod('unmounted', 'quiet', '  automountServiceAccountToken: false'));
    await waitFor(
      () => {
        for (const name of ['client', 'unmounted']) {
          if (podsStarted[name]) continue;
          if (k(s, ['get', 'pod', name, '-o', 'jsonpath={.status.phase}']) === 'Running')
            podsStarted[name] = Date.now() - start;
        }
        if (Object.keys(podsStarted).length < 2) throw new Error(diag());
      },
      90_000,
      'both node-client pods Running',
    );
    console.info(
      `[serviceaccount-inpod] node-client pods Running after ${JSON.stringify(podsStarted)} ms (from kubectl apply)`,
    );
  }, HOSTS_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.cleanup().catch(() => undefined);
    await hostsDown();
  }, 240_000);

  it('lists pods through kubernetes.default.svc and KUBERNETES_SERVICE_HOST with the mounted token and CA; 403 outside the Role', () => {
    const uid = k(s, ['get', 'pod', 'client', '-o', 'jsonpath={.metadata.uid}']);
    // cluster DNS, the Service proxy to the API's endpoint, TLS verified against ca.crt
    const viaDns = api('client', ['--server', 'https://kubernetes.default.svc', '/api/v1/namespaces/{namespace}/pods']);
    expect(viaDns.status).toBe(200);
    expect(viaDns.body.items!.map((i) => i.metadata.name).sort()).toEqual(['client', 'unmounted']);
    // client-go's InClusterConfig: the ClusterIP from the environment
    expect(exec('client', ['sh', '-c', 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT']).stdout.trim()).toBe(
      `${k(s, ['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])}:443`,
    );
    expect(api('client', ['/api/v1/namespaces/default/pods/client']).status).toBe(200);
    // the official JavaScript client, as in-cluster programs configure it
    const official = api('client', ['default'], CLIENT_NODE);
    expect(official.status).toBe(200);
    expect(official.body.items!.map((i) => i.metadata.name).sort()).toEqual(['client', 'unmounted']);
    const officialDenied = api('client', ['kube-system'], CLIENT_NODE);
    expect(officialDenied.status).toBe(403);
    expect(officialDenied.body.message).toBe(
      'pods is forbidden: User "system:serviceaccount:default:lister" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    );
    // the token really is this pod's
    expect(claimsOf(exec('client', ['cat', `${SA_DIR}/token`]).stdout)['kubernetes.io'].pod).toEqual({
      name: 'client',
      uid,
    });

    const secrets = api('client', ['/api/v1/namespaces/default/secrets']);
    expect(secrets.status).toBe(403);
    expect(secrets.body.message).toBe(
      'secrets is forbidden: User "system:serviceaccount:default:lister" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
    const elsewhere = api('client', ['/api/v1/namespaces/kube-system/pods']);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.message).toBe(
      'pods is forbidden: User "system:serviceaccount:default:lister" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    );
    expect(api('client', ['DELETE', '/api/v1/namespaces/default/pods/unmounted']).status).toBe(403);

    // verification is not skipped: with a CA that did not sign the server's certificate, no answer
    const otherCa = spawnSync(
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
        '/dev/null',
        '-subj',
        '/CN=other-ca',
        '-days',
        '1',
      ],
      { encoding: 'utf8' },
    );
    expect(otherCa.status).toBe(0);
    expect(
      kubectl(s, ['exec', '-i', 'client', '--', 'sh', '-c', 'cat > /tmp/other-ca.crt'], { input: otherCa.stdout }).code,
    ).toBe(0);
    const untrusted = exec('client', [...CLIENT, '--ca-file', '/tmp/other-ca.crt', '/api/v1/namespaces/default/pods']);
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toMatch(
      /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/,
    );
  });

  it('the agent renews the token while the pod runs; the new token works from the pod', async () => {
    const first = exec('client', ['cat', `${SA_DIR}/token`]).stdout;
    const before = claimsOf(first);
    let renewed = '';
    await waitFor(
      () => {
        renewed = exec('client', ['cat', `${SA_DIR}/token`]).stdout;
        if (renewed === first)
          throw new Error(`token unchanged since iat ${before.iat} (now ${Math.floor(Date.now() / 1000)})\n${diag()}`);
      },
      60_000,
      'a renewed token in the projected volume',
    );
    const after = claimsOf(renewed);
    expect(after.jti).not.toBe(before.jti);
    expect(after.exp - after.iat).toBe(3607);
    expect(after['kubernetes.io'].pod).toEqual(before['kubernetes.io'].pod);
    // renewed at the (scaled) 80 % mark, minus at most the 10 s jitter scaled: not on every sync
    const mark = (2886 - 10) / REFRESH_SCALE;
    console.info(
      `[serviceaccount-inpod] token renewed ${after.iat - before.iat} s after the previous one (scaled 80 % mark ${(2886 / REFRESH_SCALE).toFixed(1)} s)`,
    );
    expect(after.iat - before.iat).toBeGreaterThanOrEqual(Math.floor(mark));
    // the client reads the file again on every run: the new token lists pods
    expect(api('client', ['/api/v1/namespaces/default/pods']).status).toBe(200);
    // the earlier token stays valid until it expires or the pod goes (Kubernetes revokes none on renewal)
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, first)).status).toBe(200);
  });

  it('once the pod is deleted, the token copied out of it is refused (401)', async () => {
    const token = exec('client', ['cat', `${SA_DIR}/token`]).stdout;
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, token)).status).toBe(200);
    k(s, ['delete', 'pod', 'client', '--wait=true']);
    await waitFor(
      async () => {
        const r = await httpsRequest(s, 'GET', '/api/v1/namespaces/default/pods', undefined, {}, token);
        if (r.status !== 401) throw new Error(`status ${r.status}`);
      },
      20_000,
      "the deleted pod's token refused",
    );
    // and from inside the cluster: another pod presenting it through kubernetes.default.svc
    expect(kubectl(s, ['exec', '-i', 'unmounted', '--', 'sh', '-c', 'cat > /tmp/token'], { input: token }).code).toBe(
      0,
    );
    expect(
      kubectl(s, ['exec', '-i', 'unmounted', '--', 'sh', '-c', 'cat > /tmp/ca.crt'], { input: s.caPem }).code,
    ).toBe(0);
    const r = api('unmounted', [
      '--server',
      'https://kubernetes.default.svc',
      '--token-file',
      '/tmp/token',
      '--ca-file',
      '/tmp/ca.crt',
      '/api/v1/namespaces/default/pods',
    ]);
    expect(r.status).toBe(401);
    expect(r.body.message).toBe('Unauthorized');
  });

  it('automountServiceAccountToken: false: no token directory, nothing to authenticate with', () => {
    const spec = JSON.parse(k(s, ['get', 'pod', 'unmounted', '-o', 'json'])).spec;
    expect((spec.volumes ?? []).filter((v: { name: string }) => v.name.startsWith('kube-api-access-'))).toEqual([]);
    expect(exec('unmounted', ['test', '-e', SA_DIR]).code).not.toBe(0);
    const r = exec('unmounted', CLIENT.concat(['/api/v1/namespaces/default/pods']));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`open '${SA_DIR}/token'`);
  });
});
