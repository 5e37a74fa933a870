// ConfigMaps and Secrets in pods end to end: a real server and agent, real Docker, the real
// kubectl. Env from a ConfigMap key and envFrom a Secret, configMap and secret volumes
// (content and modes read from inside the container), a ConfigMap update reaching the
// mounted file, a missing ConfigMap as CreateContainerConfigError with kubelet's message
// until it is created, service link variables, volume clean-up, and the node authorizer:
// a forged agent cannot read a Secret no pod on its node references.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
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

describe.skipIf(!enabled)('ConfigMaps and Secrets in pods', () => {
  let s: ServerProc;
  let a: AgentProc;
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const waitRunning = (name: string, ms = 60_000) =>
    eventually(
      () => {
        const p = pod(name);
        expect(p.status.phase).toBe('Running');
        expect(p.status.containerStatuses?.[0]?.state?.running).toBeTruthy();
        return p;
      },
      ms,
      250,
    );
  const exec = (name: string, ...cmd: string[]) => kubectl(s, ['exec', name, '--', ...cmd]);
  /** one variable of the container's environment (this busybox has no printenv) */
  const getenv = (name: string, v: string) => k(s, ['exec', name, '--', 'sh', '-c', `echo "$${v}"`]).trim();

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

  it('env, envFrom, configMap and secret volumes, updates, service variables, clean-up', async () => {
    // a Service that exists before the pod: its link variables are in the container
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 8080, targetPort: 80}]
`,
    );
    const backendIP = JSON.parse(k(s, ['get', 'service', 'backend', '-o', 'json'])).spec.clusterIP;
    const kubernetesIP = JSON.parse(k(s, ['get', 'service', 'kubernetes', '-o', 'json'])).spec.clusterIP;
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  level: debug
  app.conf: "version=1"
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData:
  USERNAME: admin
  PASSWORD: s3cret
  1st: not-a-variable-name
`,
    );
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: consumer}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    env:
    - name: LOG_LEVEL
      valueFrom: {configMapKeyRef: {name: app-config, key: level}}
    - name: SERVICE_HOST_OVERRIDE
      value: "backend at $(BACKEND_SERVICE_HOST)"
    envFrom:
    - secretRef: {name: app-secret}
    volumeMounts:
    - {name: config, mountPath: /etc/app}
    - {name: creds, mountPath: /etc/creds}
    - {name: config, mountPath: /etc/pinned.conf, subPath: app.conf}
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: creds
    secret: {secretName: app-secret, defaultMode: 0400, items: [{key: PASSWORD, path: db/password}]}
`,
    );
    const p = await waitRunning('consumer');

    const env = Object.fromEntries(
      k(s, ['exec', 'consumer', '--', 'env'])
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      LOG_LEVEL: 'debug',
      USERNAME: 'admin',
      PASSWORD: 's3cret',
      KUBERNETES_SERVICE_HOST: kubernetesIP,
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: `tcp://${kubernetesIP}:443`,
      KUBERNETES_PORT_443_TCP_ADDR: kubernetesIP,
      BACKEND_SERVICE_HOST: backendIP,
      BACKEND_SERVICE_PORT: '8080',
      BACKEND_SERVICE_PORT_HTTP: '8080',
      BACKEND_PORT: `tcp://${backendIP}:8080`,
      BACKEND_PORT_8080_TCP: `tcp://${backendIP}:8080`,
      BACKEND_PORT_8080_TCP_PROTO: 'tcp',
      BACKEND_PORT_8080_TCP_PORT: '8080',
      BACKEND_PORT_8080_TCP_ADDR: backendIP,
      SERVICE_HOST_OVERRIDE: `backend at ${backendIP}`,
    });
    expect(env).not.toHaveProperty('1st');
    await eventually(
      () =>
        expect(k(s, ['describe', 'pod', 'consumer'])).toMatch(
          /InvalidEnvironmentVariableNames.*Keys \[1st\] from the EnvFrom secret default\/app-secret were skipped/s,
        ),
      15_000,
      500,
    );

    // volumes: content, kubelet's layout, modes, read-only
    expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/app/app.conf'])).toBe('version=1');
    expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/app/level'])).toBe('debug');
    expect(k(s, ['exec', 'consumer', '--', 'readlink', '/etc/app/level'])).toBe('..data/level\n');
    expect(k(s, ['exec', 'consumer', '--', 'stat', '-L', '-c', '%a', '/etc/app/app.conf']).trim()).toBe('644');
    expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/creds/db/password'])).toBe('s3cret');
    expect(k(s, ['exec', 'consumer', '--', 'stat', '-L', '-c', '%a', '/etc/creds/db/password']).trim()).toBe('400');
    expect(exec('consumer', 'ls', '/etc/creds').stdout.trim()).toBe('db');
    expect(exec('consumer', 'touch', '/etc/app/new').code).not.toBe(0);
    expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/pinned.conf'])).toBe('version=1');
    const uid = p.metadata.uid;
    const podDir = join(a.dataDir, 'pods', uid);
    expect(readFileSync(join(podDir, 'volumes', 'kubernetes.io~configmap', 'config', 'app.conf'), 'utf8')).toBe(
      'version=1',
    );

    // the ConfigMap changes: the mounted file follows (env and subPath mounts do not, as in Kubernetes)
    const t0 = Date.now();
    k(s, ['patch', 'configmap', 'app-config', '-p', '{"data":{"app.conf":"version=2"}}']);
    await eventually(
      () => expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/app/app.conf'])).toBe('version=2'),
      90_000,
      2000,
    );
    console.log(`configMap update visible in the container after ${Math.round((Date.now() - t0) / 1000)}s`);
    expect(getenv('consumer', 'LOG_LEVEL')).toBe('debug');
    expect(k(s, ['exec', 'consumer', '--', 'cat', '/etc/pinned.conf'])).toBe('version=1');

    // the pod goes: so do its volume dirs
    k(s, ['delete', 'pod', 'consumer', '--grace-period=1']);
    await eventually(() => expect(kubectl(s, ['get', 'pod', 'consumer']).stderr).toContain('not found'), 30_000, 500);
    expect(existsSync(podDir)).toBe(false);
  }, 180_000);

  it("a missing ConfigMap is CreateContainerConfigError with kubelet's message until it is created", async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  enableServiceLinks: false
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: late-config, key: greeting}}
    - name: MAYBE
      valueFrom: {configMapKeyRef: {name: late-config, key: absent, optional: true}}
`,
    );
    await eventually(
      () => {
        const w = pod('waiter').status.containerStatuses?.[0]?.state?.waiting;
        expect(w?.reason).toBe('CreateContainerConfigError');
        expect(w?.message).toBe('configmap "late-config" not found');
      },
      30_000,
      500,
    );
    const describe = await eventually(
      () => {
        const d = k(s, ['describe', 'pod', 'waiter']);
        expect(d).toContain('CreateContainerConfigError');
        expect(d).toContain('Error: configmap "late-config" not found');
        return d;
      },
      15_000,
      500,
    );
    expect(describe).toContain('Waiting');

    // the ConfigMap without the key: kubelet's other message
    k(s, ['create', 'configmap', 'late-config', '--from-literal=other=x']);
    await eventually(
      () =>
        expect(pod('waiter').status.containerStatuses?.[0]?.state?.waiting?.message).toBe(
          "couldn't find key greeting in ConfigMap default/late-config",
        ),
      30_000,
      500,
    );
    k(s, ['patch', 'configmap', 'late-config', '-p', '{"data":{"greeting":"hello"}}']);
    await waitRunning('waiter', 45_000);
    expect(getenv('waiter', 'GREETING')).toBe('hello');
    const env = k(s, ['exec', 'waiter', '--', 'env']);
    expect(env).not.toContain('MAYBE=');
    // enableServiceLinks: false still gets the master service, not the namespace's others
    expect(env).toContain('KUBERNETES_SERVICE_HOST=');
    expect(env).not.toContain('BACKEND_SERVICE_HOST=');
    k(s, ['delete', 'pod', 'waiter', '--grace-period=1']);
  }, 120_000);

  it('a configMap volume waits for its ConfigMap (FailedMount), then starts', async () => {
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: mounter}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    volumeMounts: [{name: v, mountPath: /cfg}]
  volumes:
  - name: v
    configMap: {name: mount-later, items: [{key: a, path: a.txt, mode: 0600}]}
`,
    );
    await eventually(
      () =>
        expect(k(s, ['describe', 'pod', 'mounter'])).toContain(
          'MountVolume.SetUp failed for volume "v" : configmap "mount-later" not found',
        ),
      30_000,
      500,
    );
    expect(pod('mounter').status.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
    k(s, ['create', 'configmap', 'mount-later', '--from-literal=a=A']);
    await waitRunning('mounter', 45_000);
    expect(k(s, ['exec', 'mounter', '--', 'cat', '/cfg/a.txt'])).toBe('A');
    expect(k(s, ['exec', 'mounter', '--', 'stat', '-L', '-c', '%a', '/cfg/a.txt']).trim()).toBe('600');
    k(s, ['delete', 'pod', 'mounter', '--grace-period=1']);
  }, 120_000);

  it('node authorizer: a forged agent gets Forbidden for a Secret no pod on its node references', async () => {
    k(s, ['create', 'secret', 'generic', 'top-secret', '--from-literal=k=v']);
    // a pod on the real node references it: still no business of another node
    k(
      s,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: holder}
spec:
  nodeSelector: {kubernetes.io/hostname: ${a.node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${BUSYBOX}
    command: ["sleep", "3600"]
    envFrom: [{secretRef: {name: top-secret}}]
`,
    );
    await waitRunning('holder');
    const token = readFileSync(join(s.dataDir, 'token'), 'utf8').trim();
    const ws = new WebSocket(`wss://127.0.0.1:${s.port}/agent/v1/connect`, {
      headers: { Authorization: `Bearer ${token}` },
      ca: s.caPem,
      servername: 'localhost',
    } as WebSocket.ClientOptions);
    const queue: any[] = [];
    const waiters: ((m: any) => void)[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'network') return;
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    const next = () =>
      new Promise<any>((r) => {
        const m = queue.shift();
        if (m) r(m);
        else waiters.push(r);
      });
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    try {
      ws.send(
        JSON.stringify({
          type: 'register',
          protocol: 1,
          node: {
            name: 'snoop',
            capacity: { cpu: '1' },
            allocatable: { cpu: '1' },
            nodeInfo: {},
            addresses: [],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
          credential: 'forged-agent-credential-0123456789abcdef',
        }),
      );
      expect((await next()).type).toBe('registered');
      expect((await next()).type).toBe('pods');
      for (const [kind, name, id] of [
        ['Secret', 'top-secret', 'q1'],
        ['Secret', 'app-secret', 'q2'],
        ['Secret', 'no-such-secret', 'q3'],
        ['ConfigMap', 'app-config', 'q4'],
      ]) {
        ws.send(JSON.stringify({ type: 'getObject', id, kind, namespace: 'default', name }));
        const m = await next();
        expect(m).toMatchObject({ type: 'object', id, error: { code: 403, reason: 'Forbidden' } });
        expect(m.object).toBeUndefined();
        expect(m.error.message).toContain(`"${name}" is forbidden: User "system:node:snoop"`);
        expect(m.error.message).toContain("no relationship found between node 'snoop' and this object");
      }
      // malformed: an error answer, and the session keeps serving
      ws.send(JSON.stringify({ type: 'getObject', id: 'bad', kind: 'Pod', namespace: 'default', name: 'x' }));
      expect(await next()).toMatchObject({ type: 'object', id: 'bad', error: { code: 400, reason: 'BadRequest' } });
      ws.send(JSON.stringify({ type: 'getObject', kind: 'Secret' }));
      expect((await next()).type).toBe('error');
      ws.send(
        JSON.stringify({ type: 'getObject', id: 'q5', kind: 'Secret', namespace: 'default', name: 'top-secret' }),
      );
      expect((await next()).error.code).toBe(403);
    } finally {
      ws.close();
    }
    // the real agent still reads it for its own pod
    expect(getenv('holder', 'k')).toBe('v');
    k(s, ['delete', 'pod', 'holder', '--grace-period=1']);
    k(s, ['delete', 'node', 'snoop']);
  }, 90_000);
});
