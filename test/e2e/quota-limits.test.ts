// ResourceQuota and LimitRange through the real kubectl 1.32: a quota of 2 pods refuses
// the third with Kubernetes' message, get/describe show used/hard, deleting a pod frees
// the slot (the quota controller), a LimitRange default lands in a created pod, and a
// Deployment beyond its quota shows FailedCreate events. No agent: pods stay Pending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, k, kubectl, kubectlAvailable, startServer, type ServerProc } from './harness.js';

const haveKubectl = kubectlAvailable();

describe.skipIf(!haveKubectl)('ResourceQuota and LimitRange with kubectl', () => {
  let s: ServerProc;
  beforeAll(async () => {
    s = await startServer();
    k(s, ['create', 'namespace', 'quota-e2e']);
    k(s, ['create', 'namespace', 'limits-e2e']);
  }, 60_000);
  afterAll(async () => {
    await s?.cleanup();
  });

  const n = (ns: string, args: string[]) => ['-n', ns, ...args];
  const run = (ns: string, name: string) =>
    kubectl(s, n(ns, ['run', name, '--image=busybox', '--restart=Never', '--', 'sleep', '3600']));

  it('a quota of 2 pods refuses the third; get and describe show used/hard; a deleted pod frees its slot', async () => {
    expect(k(s, n('quota-e2e', ['create', 'quota', 'pods-2', '--hard=pods=2,configmaps=5']))).toContain(
      'resourcequota/pods-2 created',
    );
    // the controller fills status.used before admission may charge it
    await eventually(() => {
      expect(k(s, n('quota-e2e', ['get', 'quota', 'pods-2', '-o', 'jsonpath={.status.used.pods}']))).toBe('0');
    });
    expect(run('quota-e2e', 'one').code).toBe(0);
    expect(run('quota-e2e', 'two').code).toBe(0);
    const third = run('quota-e2e', 'three');
    expect(third.code).not.toBe(0);
    expect(third.stderr).toContain(
      'Error from server (Forbidden): pods "three" is forbidden: exceeded quota: pods-2, requested: pods=1, used: pods=2, limited: pods=2',
    );

    const table = k(s, n('quota-e2e', ['get', 'quota']));
    expect(table).toMatch(/NAME\s+AGE\s+REQUEST\s+LIMIT/);
    expect(table).toMatch(/pods-2\s+\S+\s+configmaps: 1\/5, pods: 2\/2\s*\n/);
    const describe = k(s, n('quota-e2e', ['describe', 'quota', 'pods-2']));
    expect(describe).toMatch(/Name:\s+pods-2/);
    expect(describe).toMatch(/Resource\s+Used\s+Hard/);
    expect(describe).toMatch(/pods\s+2\s+2/);
    expect(describe).toMatch(/configmaps\s+1\s+5/); // kube-root-ca.crt

    // scopes travel in kubectl create's protobuf body; a BestEffort quota counts the best-effort pods
    expect(k(s, n('quota-e2e', ['create', 'quota', 'best-effort', '--hard=pods=10', '--scopes=BestEffort']))).toContain(
      'resourcequota/best-effort created',
    );
    await eventually(() => {
      expect(
        k(s, n('quota-e2e', ['get', 'quota', 'best-effort', '-o', 'jsonpath={.spec.scopes} {.status.used.pods}'])),
      ).toBe('["BestEffort"] 2');
    });
    expect(k(s, n('quota-e2e', ['describe', 'quota', 'best-effort']))).toMatch(/Scopes:\s+BestEffort/);
    k(s, n('quota-e2e', ['delete', 'quota', 'best-effort']));

    k(s, n('quota-e2e', ['delete', 'pod', 'one', '--grace-period=0', '--force']));
    await eventually(() => {
      expect(k(s, n('quota-e2e', ['get', 'quota', 'pods-2', '-o', 'jsonpath={.status.used.pods}']))).toBe('1');
    }, 30_000);
    expect(run('quota-e2e', 'three').code).toBe(0);
  }, 120_000);

  it('a Deployment beyond the quota shows FailedCreate events with the quota message', async () => {
    k(s, n('quota-e2e', ['create', 'deployment', 'web', '--image=nginx', '--replicas=2']));
    const events = await eventually(() => {
      const out = k(s, n('quota-e2e', ['get', 'events', '--field-selector', 'reason=FailedCreate']));
      expect(out).toMatch(
        /Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: exceeded quota: pods-2, requested: pods=1, used: pods=2, limited: pods=2/,
      );
      return out;
    }, 30_000);
    expect(events).toMatch(/Warning\s+FailedCreate\s+replicaset\/web-/);
    expect(k(s, n('quota-e2e', ['describe', 'rs']))).toMatch(/FailedCreate.*exceeded quota: pods-2/);
  }, 60_000);

  it('a LimitRange default appears in a created pod; its max refuses a bigger container', () => {
    const lr = `apiVersion: v1
kind: LimitRange
metadata: {name: cpu-mem}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 128Mi}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
`;
    expect(k(s, n('limits-e2e', ['apply', '-f', '-']), lr)).toContain('limitrange/cpu-mem created');
    expect(k(s, n('limits-e2e', ['get', 'limits']))).toMatch(
      /NAME\s+CREATED AT\s*\ncpu-mem\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/,
    );
    expect(k(s, n('limits-e2e', ['describe', 'limitrange', 'cpu-mem']))).toMatch(
      /Container\s+cpu\s+-\s+1\s+100m\s+500m\s+-/,
    );
    expect(run('limits-e2e', 'p').code).toBe(0);
    const pod = JSON.parse(k(s, n('limits-e2e', ['get', 'pod', 'p', '-o', 'json'])));
    expect(pod.spec.containers[0].resources).toEqual({
      limits: { cpu: '500m', memory: '128Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
    expect(pod.metadata.annotations['kubernetes.io/limit-ranger']).toBe(
      'LimitRanger plugin set: cpu, memory request for container p; cpu, memory limit for container p',
    );
    const big = kubectl(
      s,
      n('limits-e2e', [
        'run',
        'big',
        '--image=busybox',
        '--restart=Never',
        '--overrides={"spec":{"containers":[{"name":"big","image":"busybox","resources":{"limits":{"cpu":"2"}}}]}}',
      ]),
    );
    expect(big.code).not.toBe(0);
    expect(big.stderr).toContain('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  }, 60_000);
});
