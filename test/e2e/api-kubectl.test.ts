// The API server as the real kubectl 1.32 sees it: apply/get/watch/replace/patch/
// delete, tables, errors as Status objects, TLS with token auth, durability.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  httpsRequest,
  k,
  kubectl,
  kubectlAvailable,
  kubectlBg,
  startServer,
  type ServerProc,
} from './harness.js';

const EXAMPLE = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'nginx-deployment.yaml'), 'utf8');
const haveKubectl = kubectlAvailable();

describe.skipIf(!haveKubectl)('kubectl against skiff-server', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('applies the example deployment: created, unchanged, configured; defaults filled', () => {
    expect(k(s, ['apply', '-f', '-'], EXAMPLE)).toContain('deployment.apps/nginx-deployment created');
    expect(k(s, ['apply', '-f', '-'], EXAMPLE)).toContain('deployment.apps/nginx-deployment unchanged');
    const edited = EXAMPLE.replace('nginx:1.14.2', 'nginx:1.16.1').replace('replicas: 3', 'replicas: 4');
    expect(k(s, ['apply', '-f', '-'], edited)).toContain('deployment.apps/nginx-deployment configured');
    const d = JSON.parse(k(s, ['get', 'deployment', 'nginx-deployment', '-o', 'json']));
    expect(d.metadata.generation).toBe(2);
    expect(d.spec.replicas).toBe(4);
    expect(d.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    expect(d.spec.revisionHistoryLimit).toBe(10);
    expect(d.spec.progressDeadlineSeconds).toBe(600);
    const pod = d.spec.template.spec;
    expect(pod.restartPolicy).toBe('Always');
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.dnsPolicy).toBe('ClusterFirst');
    expect(pod.schedulerName).toBe('default-scheduler');
    expect(pod.containers[0].image).toBe('nginx:1.16.1');
    expect(pod.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(pod.containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(pod.containers[0].terminationMessagePath).toBe('/dev/termination-log');
    const yaml = k(s, ['get', 'deployment', 'nginx-deployment', '-o', 'yaml']);
    expect(yaml).toContain('kubectl.kubernetes.io/last-applied-configuration');
    expect(yaml).toMatch(/uid: [0-9a-f-]{36}/);
  });

  it('a second apply that drops a list element removes only that element (strategic merge)', () => {
    const two = `apiVersion: v1
kind: Pod
metadata: {name: smp, labels: {app: smp}}
spec:
  containers:
  - name: a
    image: busybox
    env: [{name: A, value: "1"}, {name: B, value: "2"}]
    ports: [{containerPort: 80}]
`;
    k(s, ['apply', '-f', '-'], two);
    // pod specs are immutable except images: change the image and drop env B
    const next = two.replace('image: busybox', 'image: busybox:1.36');
    const r = kubectl(s, ['apply', '-f', '-'], { input: next.replace(', {name: B, value: "2"}', '') });
    // env changes are forbidden on a pod, exactly as Kubernetes says
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Forbidden: pod updates may not change fields other than');
    expect(k(s, ['apply', '-f', '-'], next)).toContain('pod/smp configured');
    const p = JSON.parse(k(s, ['get', 'pod', 'smp', '-o', 'json']));
    expect(p.spec.containers[0].image).toBe('busybox:1.36');
    expect(p.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(p.spec.containers[0].env.map((e: { name: string }) => e.name)).toEqual(['A', 'B']);
    expect(p.status.phase).toBe('Pending');
    expect(p.status.qosClass).toBe('BestEffort');
  });

  it('prints server-side tables; -o wide adds the wide columns', () => {
    const out = k(s, ['get', 'deploy,pods,ns']);
    expect(out).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(out).toContain('deployment.apps/nginx-deployment');
    expect(out).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(out).toMatch(/pod\/smp\s+0\/1\s+Pending\s+0\s+\d+s/);
    expect(out).toMatch(/namespace\/kube-system\s+Active/);
    const wide = k(s, ['get', 'deploy', '-o', 'wide']);
    expect(wide).toMatch(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    // no agent in this file: the deployment's pods stay Pending
    expect(wide).toMatch(/nginx-deployment\s+0\/4\s+\d+\s+0\s+\S+\s+nginx\s+nginx:1.16.1\s+app=nginx/);
    const podsWide = k(s, ['get', 'pods', '-o', 'wide']);
    expect(podsWide).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/);
    // namespace and label columns come from the row's object metadata
    expect(k(s, ['get', 'pods', '-A', '--show-labels'])).toMatch(/default\s+smp\s+0\/1\s+Pending\s+0\s+\S+\s+app=smp/);
    expect(k(s, ['get', 'pods', '-L', 'app'])).toMatch(/smp\s+0\/1\s+Pending\s+0\s+\S+\s+smp/);
    expect(k(s, ['get', 'pods', '--sort-by=.metadata.name'])).toContain('smp');
    expect(k(s, ['get', 'all'])).toContain('deployment.apps/nginx-deployment');
    expect(k(s, ['get', 'ns'])).toMatch(
      /default\s+Active[\s\S]*kube-node-lease\s+Active[\s\S]*kube-public\s+Active[\s\S]*kube-system\s+Active/,
    );
  });

  it('selects by label and field, -o jsonpath/name, and pages with --chunk-size', () => {
    for (let i = 0; i < 7; i++) k(s, ['create', 'configmap', `sel-${i}`, '--dry-run=client', '-o', 'yaml'], undefined);
    for (let i = 0; i < 7; i++) {
      k(
        s,
        ['apply', '-f', '-'],
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sel-${i}, labels: {tier: "${i % 2 ? 'odd' : 'even'}", idx: "${i}"}}\ndata: {i: "${i}"}\n`,
      );
    }
    expect(k(s, ['get', 'cm', '-l', 'tier=odd', '-o', 'name']).trim().split('\n')).toEqual([
      'configmap/sel-1',
      'configmap/sel-3',
      'configmap/sel-5',
    ]);
    expect(k(s, ['get', 'cm', '-l', 'tier!=odd,idx in (0,2,9)', '-o', 'name']).trim().split('\n')).toEqual([
      'configmap/sel-0',
      'configmap/sel-2',
    ]);
    expect(k(s, ['get', 'cm', '--field-selector', 'metadata.name=sel-4', '-o', 'jsonpath={.items[*].data.i}'])).toBe(
      '4',
    );
    expect(
      k(s, ['get', 'pods', '--field-selector', 'status.phase=Pending', '-l', 'app=smp', '-o', 'name']).trim(),
    ).toBe('pod/smp');
    expect(k(s, ['get', 'pods', '--field-selector', 'status.phase!=Pending', '-o', 'name']).trim()).toBe('');
    expect(k(s, ['get', 'cm', '--chunk-size=2', '-l', 'tier', '-o', 'name']).trim().split('\n')).toHaveLength(7);
    const bad = kubectl(s, ['get', 'cm', '--field-selector', 'spec.nope=1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field label not supported: spec.nope');
  });

  it('kubectl get -w streams a configmap created by another client', async () => {
    const w = kubectlBg(s, ['get', 'configmaps', '-w', '-l', 'watched=yes']);
    try {
      // kubectl prints nothing until the first event: give it time to list and start watching
      await new Promise((r) => setTimeout(r, 1500));
      const r = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'watched-1', labels: { watched: 'yes' } },
        data: { a: 'b' },
      });
      expect(r.status).toBe(201);
      await eventually(() => expect(w.out()).toMatch(/watched-1\s+1\s+\d+s/), 10_000);
      await httpsRequest(
        s,
        'PATCH',
        '/api/v1/namespaces/default/configmaps/watched-1',
        { data: { c: 'd' } },
        { 'Content-Type': 'application/merge-patch+json' },
      );
      await eventually(() => expect(w.out()).toMatch(/watched-1\s+2\s+\d+s/), 10_000);
    } finally {
      w.proc.kill();
    }
  });

  it('replace with a stale resourceVersion is a Conflict', () => {
    k(s, ['create', 'configmap', 'cas', '--from-literal=a=1', '--dry-run=client', '-o', 'yaml']);
    k(s, ['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cas}\ndata: {a: "1"}\n');
    const stale = k(s, ['get', 'cm', 'cas', '-o', 'json']);
    k(s, ['patch', 'cm', 'cas', '-p', '{"data":{"a":"2"}}']);
    const obj = JSON.parse(stale);
    obj.data.a = '3';
    const r = kubectl(s, ['replace', '-f', '-'], { input: JSON.stringify(obj) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Operation cannot be fulfilled on configmaps "cas": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect(JSON.parse(k(s, ['get', 'cm', 'cas', '-o', 'json'])).data.a).toBe('2');
  });

  it('an invalid pod is a 422 naming spec.containers, and nothing is stored', () => {
    const r = kubectl(s, ['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: empty}\nspec: {containers: []}\n',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The Pod "empty" is invalid: spec.containers: Required value');
    expect(kubectl(s, ['get', 'pod', 'empty']).stderr).toContain('pods "empty" not found');
  });

  it('unknown fields fail with --validate=strict (400), warn with --validate=warn', () => {
    const bad = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: "1"}\nspec: {oops: true}\n';
    const r = kubectl(s, ['apply', '--validate=strict', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('strict decoding error: unknown field "spec"');
    expect(kubectl(s, ['get', 'cm', 'typo']).code).not.toBe(0);
    const w = kubectl(s, ['apply', '--validate=warn', '-f', '-'], { input: bad });
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('unknown field "spec"');
    expect(JSON.parse(k(s, ['get', 'cm', 'typo', '-o', 'json'])).spec).toBeUndefined();
  });

  it('scale, label, annotate, server-side apply, dry-run, describe, delete', async () => {
    expect(k(s, ['scale', 'deployment', 'nginx-deployment', '--replicas=2'])).toContain('scaled');
    expect(JSON.parse(k(s, ['get', 'deploy', 'nginx-deployment', '-o', 'json'])).spec.replicas).toBe(2);
    // kubectl checks --resource-version itself; the server's own check on PUT .../scale:
    const scaleUrl = '/apis/apps/v1/namespaces/default/deployments/nginx-deployment/scale';
    const scale = (await httpsRequest(s, 'GET', scaleUrl)).json;
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
      status: { selector: 'app=nginx' },
    });
    const stale = await httpsRequest(s, 'PUT', scaleUrl, {
      ...scale,
      metadata: { ...scale.metadata, resourceVersion: '1' },
      spec: { replicas: 3 },
    });
    expect(stale.status).toBe(409);
    expect(stale.json.message).toContain('the object has been modified');
    k(s, ['label', 'deploy', 'nginx-deployment', 'team=web']);
    k(s, ['annotate', 'deploy', 'nginx-deployment', 'note=hi']);
    const d = JSON.parse(k(s, ['get', 'deploy', 'nginx-deployment', '-o', 'json']));
    expect(d.metadata.labels.team).toBe('web');
    expect(d.metadata.annotations.note).toBe('hi');

    const ssa = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {x: "1"}\n';
    expect(k(s, ['apply', '--server-side', '-f', '-'], ssa)).toContain('configmap/ssa serverside-applied');
    expect(k(s, ['apply', '--server-side', '-f', '-'], ssa.replace('"1"', '"2"'))).toContain('serverside-applied');
    expect(JSON.parse(k(s, ['get', 'cm', 'ssa', '-o', 'json'])).data.x).toBe('2');

    expect(
      k(s, ['apply', '--dry-run=server', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\n'),
    ).toContain('(server dry run)');
    expect(kubectl(s, ['get', 'cm', 'dry']).code).not.toBe(0);

    expect(k(s, ['describe', 'deploy', 'nginx-deployment'])).toMatch(/StrategyType:\s+RollingUpdate/);
    expect(k(s, ['delete', 'cm', 'ssa'])).toContain('configmap "ssa" deleted');
    expect(kubectl(s, ['get', 'cm', 'ssa']).stderr).toContain(
      'Error from server (NotFound): configmaps "ssa" not found',
    );
  });

  it('namespaces: creating in a missing one is NotFound; objects are scoped', () => {
    const r = kubectl(s, ['apply', '-n', 'nope', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n',
    });
    expect(r.stderr).toContain('namespaces "nope" not found');
    k(s, ['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n');
    k(s, ['apply', '-n', 'team-a', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect(k(s, ['get', 'cm', '-n', 'team-a', '-o', 'name'])).toContain('configmap/x');
    expect(k(s, ['get', 'cm', '-o', 'name'])).not.toContain('configmap/x\n');
    expect(JSON.parse(k(s, ['get', 'ns', 'team-a', '-o', 'json'])).metadata.labels['kubernetes.io/metadata.name']).toBe(
      'team-a',
    );
  });

  it('401 without a token or with a wrong one; TLS verified with the generated CA', async () => {
    expect((await httpsRequest(s, 'GET', '/api/v1/namespaces', undefined, {}, null)).status).toBe(401);
    const wrong = await httpsRequest(s, 'GET', '/api/v1/namespaces', undefined, {}, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await httpsRequest(s, 'GET', '/version', undefined, {}, null)).json.minor).toBe('32');
    expect((await httpsRequest(s, 'GET', '/healthz', undefined, {}, null)).status).toBe(200);
    // kubectl with the generated kubeconfig verifies the serving certificate against the CA
    const cfg = readFileSync(s.kubeconfig, 'utf8');
    expect(cfg).toContain('certificate-authority-data:');
    expect(cfg).not.toContain('insecure-skip-tls-verify');
    const bogus = join(s.dataDir, 'bogus.kubeconfig');
    writeFileSync(bogus, cfg.replace(/token: .*/, 'token: nope'));
    const r = kubectl(s, ['--kubeconfig', bogus, 'get', 'ns']);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('serves Prometheus metrics to authenticated clients', async () => {
    expect((await httpsRequest(s, 'GET', '/metrics', undefined, {}, null)).status).toBe(401);
    const r = await httpsRequest(s, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toMatch(
      /apiserver_request_total\{verb="GET",resource="deployments",subresource="",code="200"\} \d+/,
    );
    expect(r.body).toMatch(/apiserver_request_duration_seconds_bucket\{le="0.005",verb="LIST",resource="pods"\}/);
    expect(r.body).toMatch(/skiff_store_revision \d+/);
    expect(r.body).toContain('skiff_connected_agents 0');
    expect(r.body).toContain('process_resident_memory_bytes');
  });

  it('bad bodies get Status errors and crash nothing', async () => {
    const garbage = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', '{"metadata":', {});
    expect(garbage.status).toBe(400);
    expect(garbage.json.kind).toBe('Status');
    const wrongType = await httpsRequest(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'x' },
      spec: { replicas: 'three' },
    });
    expect(wrongType.status).toBe(400);
    const big = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(4 * 1024 * 1024) },
    });
    expect(big.status).toBe(413);
    const proto = await httpsRequest(s, 'POST', '/api/v1/namespaces', 'k8s\0garbage', {
      'Content-Type': 'application/vnd.kubernetes.protobuf',
    });
    // protobuf is decoded now (kubectl create sends it): bytes after the magic that are not
    // a runtime.Unknown are malformed, 400 as the real apiserver answers
    expect(proto.status).toBe(400);
    expect(proto.json.kind).toBe('Status');
    const nothere = await httpsRequest(s, 'GET', '/apis/apps/v1/namespaces/default/widgets');
    expect(nothere.status).toBe(404);
    expect(nothere.json.kind).toBe('Status');
    expect((await httpsRequest(s, 'GET', '/readyz', undefined, {}, null)).status).toBe(200);
  });

  it('survives kill -9: every object is still there and resourceVersions keep increasing', async () => {
    const before = JSON.parse(k(s, ['get', 'cm', 'cas', '-o', 'json']));
    const listRv = Number(JSON.parse(k(s, ['get', 'cm', '-o', 'json'])).metadata.resourceVersion);
    await s.kill('SIGKILL');
    await s.restart();
    const after = JSON.parse(k(s, ['get', 'cm', 'cas', '-o', 'json']));
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(k(s, ['get', 'deploy', '-o', 'name'])).toContain('deployment.apps/nginx-deployment');
    k(s, ['patch', 'cm', 'cas', '-p', '{"data":{"a":"9"}}']);
    const patched = JSON.parse(k(s, ['get', 'cm', 'cas', '-o', 'json']));
    expect(Number(patched.metadata.resourceVersion)).toBeGreaterThan(listRv);
  });
});

describe.skipIf(!haveKubectl)('watch history and compaction', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer(['--compact-interval', '200ms', '--compact-retention', '2']);
  });
  afterAll(async () => {
    await s?.cleanup();
  });

  it('a watch from a compacted revision gets 410 Expired inside the 200 stream', async () => {
    const first = await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c0' } });
    const rv = first.json.metadata.resourceVersion;
    for (let i = 1; i < 6; i++)
      await httpsRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${i}` } });
    await eventually(
      async () => {
        const r = await httpsRequest(
          s,
          'GET',
          `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
        );
        expect(r.status).toBe(200);
        const ev = JSON.parse(r.body.trim().split('\n')[0]!);
        expect(ev).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
        expect(ev.object.message).toMatch(/too old resource version/);
      },
      10_000,
      300,
    );
    // a fresh watch (resourceVersion=0) still works
    const r = await httpsRequest(
      s,
      'GET',
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1',
    );
    // (kube-root-ca.crt, published in every namespace, is one of them)
    const added = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e: { type: string }) => e.type === 'ADDED')
      .map((e: { object: { metadata: { name: string } } }) => e.object.metadata.name);
    expect(added.filter((n: string) => /^c\d$/.test(n))).toHaveLength(6);
    expect(added).toContain('kube-root-ca.crt');
  });
});
