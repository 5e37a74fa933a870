// PriorityClass and PodTemplate through the real kubectl 1.32, server only (pods stay
// Pending): the seeded system classes, `kubectl create priorityclass` (a protobuf body),
// `kubectl get pc`, a pod's priorityClassName resolved to spec.priority by the Priority
// admission (and an unknown class refused), `kubectl create -f` of a PodTemplate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();

const pod = (name: string, cls: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { priorityClassName: cls, containers: [{ name: 'c', image: 'busybox' }] },
  });

describe.skipIf(!haveKubectl)('PriorityClass and PodTemplate with kubectl', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  it('serves priority classes and resolves a pod priority', () => {
    expect(
      k(s, ['create', 'priorityclass', 'high', '--value=1000', '--preemption-policy=Never', '--description=important']),
    ).toContain('priorityclass.scheduling.k8s.io/high created');
    const table = k(s, ['get', 'pc']);
    expect(table).toMatch(/NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY/);
    expect(table).toMatch(/high\s+1000\s+false\s+\S+\s+Never/);
    expect(table).toMatch(/system-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority/);
    expect(table).toMatch(/system-node-critical\s+2000001000\s+false/);

    const tooHigh = kubectl(s, ['create', 'priorityclass', 'huge', '--value=2000000000']);
    expect(tooHigh.stderr).toContain(
      'value: Forbidden: maximum allowed value of a user defined priority is 1000000000',
    );

    expect(k(s, ['create', '-f', '-'], pod('p', 'high'))).toContain('pod/p created');
    expect(k(s, ['get', 'pod', 'p', '-o', 'jsonpath={.spec.priority} {.spec.preemptionPolicy}'])).toBe('1000 Never');
    const unknown = kubectl(s, ['create', '-f', '-'], { input: pod('x', 'nope') });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('pods "x" is forbidden: no PriorityClass with name nope was found');
  }, 60_000);

  it('creates and lists a PodTemplate', () => {
    const manifest = [
      'apiVersion: v1',
      'kind: PodTemplate',
      'metadata:',
      '  name: tpl',
      'template:',
      '  metadata:',
      '    labels:',
      '      app: web',
      '  spec:',
      '    containers:',
      '    - name: web',
      '      image: nginx',
    ].join('\n');
    expect(k(s, ['create', '-f', '-'], manifest)).toContain('podtemplate/tpl created');
    const table = k(s, ['get', 'podtemplates']);
    expect(table).toMatch(/NAME\s+CONTAINERS\s+IMAGES\s+POD LABELS/);
    expect(table).toMatch(/tpl\s+web\s+nginx\s+app=web/);
    expect(k(s, ['get', 'podtemplate', 'tpl', '-o', 'jsonpath={.template.spec.restartPolicy}'])).toBe('Always');
  }, 60_000);
});
