// The ProbeManager and its workers on an injected clock and a scripted prober: timing
// (initialDelaySeconds, periodSeconds), thresholds, startup gating, the results cache,
// Unhealthy events, and workers following the containers that run.
import { describe, expect, it } from 'vitest';
import { ProbeManager } from '../../agent/probes/probe-manager.js';
import type { ProbeOutcome, ProbeTarget } from '../../agent/probes/prober.js';
import type { Clock, Probe } from '../../agent/probes/types.js';
import type { RuntimeContainer } from '../../agent/runtime/types.js';
import type { KubeObject } from '../../proto/meta.js';

class FakeClock implements Clock {
  t = Date.parse('2026-11-22T10:00:00Z');
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** run every timer due within ms, letting the async probes settle in between */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
      await flush();
    }
    this.t = end;
  }
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const UID = 'uid-1';
const exec = (name: string, over: Partial<Probe> = {}): Probe => ({
  exec: { command: [name] },
  periodSeconds: 1,
  ...over,
});

function setup(containers: Record<string, unknown>[], script: Record<string, ('success' | 'failure' | 'error')[]>) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const changes: string[] = [];
  const events: string[] = [];
  const prober = async (probe: Probe, t: ProbeTarget): Promise<ProbeOutcome> => {
    const name = probe.exec!.command![0]!;
    calls.push(`${(clock.t - Date.parse('2026-11-22T10:00:00Z')) / 1000}s ${name}@${t.containerId}`);
    const list = script[name] ?? [];
    const r = list.length > 1 ? list.shift()! : (list[0] ?? 'success');
    return r === 'error' ? { error: 'boom' } : { result: r, output: r === 'failure' ? `${name} said no` : '' };
  };
  const m = new ProbeManager({
    runtime: {} as never,
    clock,
    prober,
    event: (_p, type, reason, message, fieldPath) => events.push(`${type} ${reason} ${fieldPath} ${message}`),
    onChange: (uid) => changes.push(uid),
  });
  const pod = (meta: Record<string, unknown> = {}): KubeObject =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default', uid: UID, ...meta },
      spec: { containers },
    }) as never;
  const ctr = (
    id: string,
    name = 'app',
    state: RuntimeContainer['state'] = 'running',
    attempt = 0,
  ): RuntimeContainer => ({
    id,
    name: '',
    type: 'container',
    podUid: UID,
    podName: 'p',
    namespace: 'default',
    containerName: name,
    attempt,
    state,
    oomKilled: false,
    image: 'busybox',
    imageID: '',
    labels: {},
    startedAt: new Date(clock.t).toISOString(),
  });
  return { clock, calls, changes, events, m, pod, ctr };
}

describe('ProbeManager', () => {
  it('readiness is false until the first success, then flips and wakes the pod worker', async () => {
    const s = setup([{ name: 'app', readinessProbe: exec('ready') }], { ready: ['failure', 'failure', 'success'] });
    s.m.sync(s.pod(), [s.ctr('c1')], '10.0.0.9');
    expect(s.m.snapshot(UID)).toEqual({ c1: { readiness: 'failure' } });
    expect(s.changes).toEqual([]); // the initial value is no change
    await s.clock.advance(0);
    await s.clock.advance(1000);
    expect(s.m.snapshot(UID).c1!.readiness).toBe('failure');
    await s.clock.advance(1000);
    expect(s.m.snapshot(UID).c1!.readiness).toBe('success');
    expect(s.changes).toEqual([UID]);
    expect(s.calls).toEqual(['0s ready@c1', '1s ready@c1', '2s ready@c1']);
    expect(s.events).toEqual([
      'Warning Unhealthy spec.containers{app} Readiness probe failed: ready said no',
      'Warning Unhealthy spec.containers{app} Readiness probe failed: ready said no',
    ]);
  });

  it('liveness fails after failureThreshold runs in a row, then stops probing that container', async () => {
    const s = setup([{ name: 'app', livenessProbe: exec('live', { failureThreshold: 2 }) }], { live: ['failure'] });
    s.m.sync(s.pod(), [s.ctr('c1')]);
    expect(s.m.snapshot(UID)).toEqual({ c1: { liveness: 'success' } });
    await s.clock.advance(0);
    expect(s.m.snapshot(UID).c1!.liveness).toBe('success');
    await s.clock.advance(1000);
    expect(s.m.snapshot(UID).c1!.liveness).toBe('failure');
    expect(s.changes).toEqual([UID]);
    await s.clock.advance(10_000);
    expect(s.calls).toEqual(['0s live@c1', '1s live@c1']); // on hold until a new container
    expect(s.events.filter((e) => e.includes('Liveness probe failed: live said no'))).toHaveLength(2);
  });

  it('a restarted container gets fresh workers and results; the old ones are forgotten', async () => {
    const s = setup([{ name: 'app', livenessProbe: exec('live', { failureThreshold: 1 }) }], {
      live: ['failure', 'success'],
    });
    s.m.sync(s.pod(), [s.ctr('c1')]);
    await s.clock.advance(0);
    expect(s.m.snapshot(UID)).toEqual({ c1: { liveness: 'failure' } });
    s.m.sync(s.pod(), [s.ctr('c1', 'app', 'exited'), s.ctr('c2', 'app', 'running', 1)]);
    expect(s.m.snapshot(UID)).toEqual({ c2: { liveness: 'success' } });
    await s.clock.advance(0);
    expect(s.calls).toEqual(['0s live@c1', '0s live@c2']);
  });

  it('waits initialDelaySeconds after the container started', async () => {
    const s = setup([{ name: 'app', livenessProbe: exec('live', { initialDelaySeconds: 5, periodSeconds: 10 }) }], {});
    s.m.sync(s.pod(), [s.ctr('c1')]);
    await s.clock.advance(4999);
    expect(s.calls).toEqual([]);
    await s.clock.advance(1);
    expect(s.calls).toEqual(['5s live@c1']);
    await s.clock.advance(10_000);
    expect(s.calls).toEqual(['5s live@c1', '15s live@c1']);
  });

  it('startup gates liveness and readiness; readiness runs as soon as startup passed', async () => {
    const s = setup(
      [
        {
          name: 'app',
          startupProbe: exec('startup', { periodSeconds: 2 }),
          livenessProbe: exec('live', { periodSeconds: 5 }),
          readinessProbe: exec('ready', { periodSeconds: 5 }),
        },
      ],
      { startup: ['failure', 'failure', 'success'] },
    );
    s.m.sync(s.pod(), [s.ctr('c1')]);
    await s.clock.advance(0);
    await s.clock.advance(2000);
    expect(s.calls).toEqual(['0s startup@c1', '2s startup@c1']);
    expect(s.m.snapshot(UID).c1).toEqual({ liveness: 'success', readiness: 'failure' });
    await s.clock.advance(2000);
    expect(s.m.snapshot(UID).c1).toMatchObject({ startup: 'success', readiness: 'success' });
    expect(s.calls).toEqual(['0s startup@c1', '2s startup@c1', '4s startup@c1', '4s ready@c1']);
    await s.clock.advance(6000);
    expect(s.calls.filter((c) => c.includes('startup'))).toHaveLength(3); // no more startup probing
    expect(s.calls).toContain('5s live@c1');
  });

  it('readiness with successThreshold 2 needs two successes in a row', async () => {
    const s = setup([{ name: 'app', readinessProbe: exec('ready', { successThreshold: 2 }) }], {
      ready: ['success', 'failure', 'success', 'success'],
    });
    s.m.sync(s.pod(), [s.ctr('c1')]);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await s.clock.advance(i === 0 ? 0 : 1000);
      seen.push(s.m.snapshot(UID).c1!.readiness!);
    }
    expect(seen).toEqual(['failure', 'failure', 'failure', 'success']);
  });

  it('a probe that errors is thrown away and reported as errored', async () => {
    const s = setup([{ name: 'app', livenessProbe: exec('live', { failureThreshold: 1 }) }], { live: ['error'] });
    s.m.sync(s.pod(), [s.ctr('c1')]);
    await s.clock.advance(3000);
    expect(s.m.snapshot(UID).c1!.liveness).toBe('success');
    expect(s.events[0]).toBe('Warning Unhealthy spec.containers{app} Liveness probe errored: boom');
  });

  it('no workers for containers that do not run, nor for a pod being deleted', async () => {
    const s = setup(
      [
        { name: 'app', livenessProbe: exec('live') },
        { name: 'side', readinessProbe: exec('ready') },
      ],
      {},
    );
    s.m.sync(s.pod(), [s.ctr('c1', 'app', 'exited'), s.ctr('c2', 'side', 'created')]);
    expect(s.m.size).toBe(0);
    s.m.sync(s.pod(), [s.ctr('c1', 'app'), s.ctr('c2', 'side')]);
    expect(s.m.size).toBe(2);
    s.m.sync(s.pod({ deletionTimestamp: '2026-11-22T10:00:05Z' }), [s.ctr('c1', 'app'), s.ctr('c2', 'side')]);
    expect(s.m.size).toBe(0);
    expect(s.m.snapshot(UID)).toEqual({});
    await s.clock.advance(5000);
    expect(s.calls).toEqual([]);
  });
});
