// HorizontalPodAutoscaler end to end: a real server and agent, real Docker, the real
// kubectl 1.32. A CPU-burning Deployment (request 100m, limit 200m) with
// `kubectl autoscale --cpu-percent=50 --min=1 --max=3` (an autoscaling/v1 protobuf body)
// scales to 3; `kubectl get hpa` shows `cpu: NNN%/50%`; once the burn stops (a file each
// pod's loop checks) and the scale-down stabilization window (shortened to 15 s through
// spec.behavior) passes, it goes back to 1. Waits have deadlines; no timing is asserted.
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

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: burn
spec:
  replicas: 1
  selector:
    matchLabels: {app: burn}
  template:
    metadata:
      labels: {app: burn}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: ${BUSYBOX}
        imagePullPolicy: IfNotPresent
        resources:
          requests: {cpu: 100m}
          limits: {cpu: 200m}
        command: ["sh", "-c", "trap 'exit 0' TERM; while [ ! -f /tmp/stop ]; do :; done; while :; do sleep 1; done"]
`;

describe.skipIf(!enabled)('HorizontalPodAutoscaler on real Docker with the real kubectl', () => {
  let s: ServerProc;
  let a: AgentProc;
  const timings: Record<string, number> = {};
  const json = (args: string[]) => JSON.parse(k(s, [...args, '-o', 'json']));
  const runningPods = () =>
    (json(['get', 'pods', '-l', 'app=burn']).items as any[]).filter(
      (p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running',
    );

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 30_000, 200);
  }, 60_000);
  afterAll(async () => {
    if (s && a) kubectl(s, ['delete', 'deployment', 'burn', '--ignore-not-found', '--wait=false']);
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
    console.log('hpa e2e timings (ms):', JSON.stringify(timings));
  });

  it('kubectl autoscale: scales a CPU-burning Deployment to 3 and back to 1 after the load stops', async () => {
    expect(k(s, ['apply', '-f', '-'], DEPLOYMENT)).toContain('deployment.apps/burn created');
    expect(k(s, ['autoscale', 'deployment', 'burn', '--cpu-percent=50', '--min=1', '--max=3'])).toContain(
      'horizontalpodautoscaler.autoscaling/burn autoscaled',
    );
    // served as v2 (the storage version) and v1 (converted)
    const v2 = json(['get', 'hpa', 'burn']);
    expect(v2.apiVersion).toBe('autoscaling/v2');
    expect(v2.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ]);
    expect(
      k(s, [
        'get',
        'horizontalpodautoscalers.v1.autoscaling',
        'burn',
        '-o',
        'jsonpath={.apiVersion} {.spec.targetCPUUtilizationPercentage}',
      ]),
    ).toBe('autoscaling/v1 50');
    // the scale-down window shortened through behavior (defaults fill the rest)
    k(s, [
      'patch',
      'hpa',
      'burn',
      '--type=merge',
      '-p',
      '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":15}}}}',
    ]);
    const behavior = json(['get', 'hpa', 'burn']).spec.behavior;
    expect(behavior.scaleDown).toEqual({
      stabilizationWindowSeconds: 15,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
    });
    expect(behavior.scaleUp.policies).toEqual([
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ]);

    const t0 = Date.now();
    await eventually(() => expect(json(['get', 'deployment', 'burn']).spec.replicas).toBe(3), 150_000, 1000);
    timings.scaleUpTo3 = Date.now() - t0;
    const table = k(s, ['get', 'hpa']);
    expect(table).toMatch(/NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE/);
    expect(table).toMatch(/burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+\d\s+/);
    const described = k(s, ['describe', 'hpa', 'burn']);
    expect(described).toContain('SuccessfulRescale');
    expect(described).toContain('reason: cpu resource utilization (percentage of request) above target');
    expect(described).toMatch(/AbleToScale\s+True/);
    expect(described).toMatch(/ScalingActive\s+True\s+ValidMetricFound/);
    const st = json(['get', 'hpa', 'burn']).status;
    expect(st.currentMetrics[0].resource.current.averageUtilization).toBeGreaterThan(50);
    expect(st.lastScaleTime).toBeTruthy();

    // stop the burn in every pod (new pods would burn again; none come while at 3)
    await eventually(() => expect(runningPods().length).toBe(3), 90_000, 1000);
    for (const p of runningPods()) k(s, ['exec', p.metadata.name, '--', 'touch', '/tmp/stop']);
    const t1 = Date.now();
    await eventually(() => expect(json(['get', 'deployment', 'burn']).spec.replicas).toBe(1), 150_000, 1000);
    timings.scaleDownTo1 = Date.now() - t1;
    await eventually(
      () => expect(k(s, ['get', 'hpa', 'burn'])).toMatch(/burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+1\s+/),
      60_000,
      1000,
    );
    expect(k(s, ['describe', 'hpa', 'burn'])).toContain('New size: 1; reason: All metrics below target');
  }, 330_000);
});
