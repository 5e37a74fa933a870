// Self-healing end to end: a real server and agent, real Docker, real kubectl.
// Readiness gates READY and the Ready condition, a failing liveness probe restarts the
// container with Unhealthy/Killing events, startup/tcp/httpGet probes and a postStart
// hook on a real web server, init containers in order (Init:N/M in kubectl), and
// graceful deletion: preStop first, its time taken from the grace period, SIGTERM,
// then SIGKILL at the end of the grace period.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX,
  dockerAvailable,
  eventually,
  k,
  kubectl,
  kubectlAvailable,
  kubectlBg,
  removeNodeContainers,
  startAgent,
  startServer,
  type AgentProc,
  type ServerProc,
} from './harness.js';

const enabled = dockerAvailable() && kubectlAvailable();
const LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done";

describe.skipIf(!enabled)('self-healing pods on real Docker', () => {
  let s: ServerProc;
  let a: AgentProc;
  let initWatch: ReturnType<typeof kubectlBg>;
  const marks = mkdtempSync(join(tmpdir(), 'skiff-prestop-'));
  const pod = (name: string) => JSON.parse(k(s, ['get', 'pod', name, '-o', 'json']));
  const apply = (name: string, spec: Record<string, unknown>) =>
    k(
      s,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { nodeSelector: { 'kubernetes.io/hostname': a.node }, terminationGracePeriodSeconds: 2, ...spec },
      }),
    );
  const events = (name: string) =>
    (JSON.parse(k(s, ['get', 'events', '-o', 'json'])).items as any[]).filter((e) => e.involvedObject?.name === name);
  const condition = (p: any, type: string) =>
    p.status.conditions?.find((c: { type: string }) => c.type === type)?.status;

  beforeAll(async () => {
    s = await startServer();
    a = startAgent(s);
    await eventually(() => expect(k(s, ['get', 'node', a.node])).toMatch(/\sReady\s/), 20_000, 200);
    // everything starts at once; each test then checks its pod
    // a list watch: a named get -w would fail if it ran before the pod exists
    initWatch = kubectlBg(s, ['get', 'pods', '--field-selector', 'metadata.name=init-order', '-w']);
    apply('init-order', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        {
          name: 'first',
          image: BUSYBOX,
          command: ['sh', '-c', 'sleep 2; echo one > /work/1'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
        {
          name: 'second',
          image: BUSYBOX,
          command: ['sh', '-c', 'test -f /work/1 && echo two > /work/2'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
      containers: [
        {
          name: 'app',
          image: BUSYBOX,
          command: ['sh', '-c', `cat /work/1 /work/2; ${LOOP}`],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
    });
    apply('readiness', {
      containers: [
        {
          name: 'app',
          image: BUSYBOX,
          command: ['sh', '-c', LOOP],
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
        },
      ],
    });
    apply('liveness', {
      containers: [
        {
          name: 'app',
          image: BUSYBOX,
          command: ['sh', '-c', LOOP],
          livenessProbe: { httpGet: { path: '/healthz', port: 8081 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    });
    apply('web', {
      containers: [
        {
          name: 'web',
          image: BUSYBOX,
          command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'],
          ports: [{ name: 'http', containerPort: 8080 }],
          startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 10 },
          readinessProbe: {
            httpGet: { path: '/', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] },
            periodSeconds: 1,
          },
          livenessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo started > /tmp/poststart'] } } },
        },
      ],
    });
  });
  afterAll(async () => {
    initWatch?.proc.kill();
    await a?.kill('SIGKILL');
    if (a) removeNodeContainers(a.node);
    await s?.cleanup();
    rmSync(marks, { recursive: true, force: true });
  });

  it('runs init containers in order to completion before the app, showing Init:N/2 meanwhile', async () => {
    await eventually(() => expect(pod('init-order').status.phase).toBe('Running'), 30_000, 250);
    expect(initWatch.out()).toMatch(/init-order\s+0\/1\s+Init:[01]\/2\s/);
    const p = pod('init-order');
    expect(
      p.status.initContainerStatuses.map((c: any) => [
        c.name,
        c.state.terminated?.reason,
        c.state.terminated?.exitCode,
        c.ready,
      ]),
    ).toEqual([
      ['first', 'Completed', 0, true],
      ['second', 'Completed', 0, true],
    ]);
    expect(Date.parse(p.status.initContainerStatuses[1].state.terminated.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(p.status.initContainerStatuses[0].state.terminated.finishedAt) - 1000,
    );
    expect(condition(p, 'Initialized')).toBe('True');
    await eventually(() => expect(k(s, ['logs', 'init-order', '-c', 'app'])).toBe('one\ntwo\n'), 10_000, 250);
    expect(k(s, ['get', 'pod', 'init-order'])).toMatch(/init-order\s+1\/1\s+Running\s+0\s/);
  });

  it('a readiness probe keeps the pod 0/1 until it passes, then 1/1 and Ready=True', async () => {
    await eventually(
      () => {
        const p = pod('readiness');
        expect(p.status.phase).toBe('Running');
        expect(p.status.containerStatuses[0]).toMatchObject({ started: true, ready: false });
      },
      30_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 2000)); // several failed probes: still not ready
    const p = pod('readiness');
    expect(p.status.containerStatuses[0].ready).toBe(false);
    expect(condition(p, 'Ready')).toBe('False');
    expect(condition(p, 'ContainersReady')).toBe('False');
    expect(k(s, ['get', 'pod', 'readiness'])).toMatch(/readiness\s+0\/1\s+Running\s+0\s/);
    expect(
      events('readiness').some(
        (e) => e.reason === 'Unhealthy' && e.type === 'Warning' && e.message.startsWith('Readiness probe failed:'),
      ),
    ).toBe(true);

    k(s, ['exec', 'readiness', '--', 'touch', '/tmp/ready']);
    await eventually(
      () => expect(k(s, ['get', 'pod', 'readiness'])).toMatch(/readiness\s+1\/1\s+Running\s+0\s/),
      10_000,
      200,
    );
    const ready = pod('readiness');
    expect(condition(ready, 'Ready')).toBe('True');
    expect(condition(ready, 'ContainersReady')).toBe('True');
    expect(ready.status.containerStatuses[0].restartCount).toBe(0); // readiness never restarts
  });

  it('a failing liveness probe restarts the container, with Unhealthy and Killing events', async () => {
    await eventually(
      () => {
        const cs = pod('liveness').status.containerStatuses[0];
        expect(cs.restartCount).toBeGreaterThanOrEqual(1);
        expect(cs.lastState.terminated).toBeTruthy();
      },
      30_000,
      250,
    );
    const ev = events('liveness');
    const unhealthy = ev.find((e) => e.reason === 'Unhealthy');
    expect(unhealthy).toMatchObject({ type: 'Warning', involvedObject: { fieldPath: 'spec.containers{app}' } });
    expect(unhealthy.message).toMatch(/^Liveness probe failed: Get "http:\/\/[\d.]+:8081\/healthz": /);
    expect(
      ev.find((e) => e.reason === 'Killing' && e.message === 'Container app failed liveness probe, will be restarted'),
    ).toBeTruthy();
    expect(k(s, ['get', 'pod', 'liveness'])).toMatch(/liveness\s+\d\/1\s+\S+\s+[1-9]\d* \(\S+ ago\)\s/);
  });

  it('startup (tcpSocket), readiness (httpGet by port name) and liveness (httpGet) pass on a real web server; postStart ran', async () => {
    await eventually(
      () => {
        const cs = pod('web').status.containerStatuses[0];
        expect(cs).toMatchObject({ started: true, ready: true });
      },
      30_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 2000)); // liveness (failureThreshold 1) keeps passing
    const p = pod('web');
    expect(p.status.containerStatuses[0].restartCount).toBe(0);
    expect(condition(p, 'Ready')).toBe('True');
    expect(events('web').filter((e) => e.reason === 'Unhealthy')).toEqual([]);
    expect(k(s, ['exec', 'web', '--', 'cat', '/tmp/poststart'])).toBe('started\n');
  });

  it('deletion runs preStop first (its time counts against the grace period), then SIGTERM, SIGKILL at the end', async () => {
    apply('prestop', {
      terminationGracePeriodSeconds: 4,
      volumes: [{ name: 'marks', hostPath: { path: marks, type: 'Directory' } }],
      containers: [
        {
          name: 'app',
          image: BUSYBOX,
          // ignores SIGTERM (only notes when it came): only SIGKILL ends it
          command: [
            'sh',
            '-c',
            'trap \'echo term $(cut -d" " -f1 /proc/uptime) >> /marks/log\' TERM; while :; do sleep 0.1; done',
          ],
          volumeMounts: [{ name: 'marks', mountPath: '/marks' }],
          lifecycle: {
            preStop: {
              exec: { command: ['sh', '-c', "echo prestop $(cut -d' ' -f1 /proc/uptime) >> /marks/log; sleep 2"] },
            },
          },
        },
      ],
    });
    await eventually(() => expect(pod('prestop').status.phase).toBe('Running'), 30_000, 250);
    const t0 = Date.now();
    k(s, ['delete', 'pod', 'prestop', '--timeout=30s']);
    const took = Date.now() - t0;
    expect(kubectl(s, ['get', 'pod', 'prestop']).stderr).toContain('not found');
    const log = readFileSync(join(marks, 'log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(log.map((l) => l[0])).toEqual(['prestop', 'term']);
    const [prestopAt, termAt] = log.map((l) => Number(l[1]));
    expect(termAt! - prestopAt!).toBeGreaterThanOrEqual(1.9); // SIGTERM only after the 2 s preStop
    expect(termAt! - prestopAt!).toBeLessThan(3.5);
    expect(took).toBeGreaterThanOrEqual(3800); // killed at the end of the 4 s grace period, not before
    expect(took).toBeLessThan(9000);
    const ev = events('prestop');
    expect(ev.some((e) => e.reason === 'Killing' && e.message === 'Stopping container app')).toBe(true);
  });
});
