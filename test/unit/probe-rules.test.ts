// Tables over the prober's pure rules (kubelet prober worker.go / prober_manager.go) and
// the httpGet request builder (kubelet NewRequestForHTTPGetAction).
import { describe, expect, it } from 'vitest';
import {
  containerProbeStatus,
  countResult,
  failedProbe,
  FRESH,
  initialResult,
  probeGate,
  type ThresholdState,
} from '../../agent/probes/rules.js';
import { buildHttpGetRequest, resolvePort } from '../../agent/probes/http.js';
import type { ProbeResult, ProbeType } from '../../agent/probes/types.js';

function run(
  type: ProbeType,
  probe: { successThreshold?: number; failureThreshold?: number },
  results: ProbeResult[],
): (ProbeResult | '-')[] {
  let state: ThresholdState = FRESH;
  const out: (ProbeResult | '-')[] = [];
  for (const r of results) {
    const c = countResult(state, r, type, probe);
    state = c.state;
    out.push(c.set ?? '-');
  }
  return out;
}

describe('countResult (thresholds)', () => {
  const S = 'success' as const,
    F = 'failure' as const;
  it.each([
    ['readiness defaults (1/3)', 'readiness', {}, [S, F, F, F, F, S], [S, '-', '-', F, F, S]],
    [
      'readiness successThreshold 2',
      'readiness',
      { successThreshold: 2, failureThreshold: 1 },
      [S, S, S, F, S, F, S, S],
      ['-', S, S, F, '-', F, '-', S],
    ],
    [
      'readiness run broken by a success',
      'readiness',
      { failureThreshold: 3 },
      [F, F, S, F, F, F],
      ['-', '-', S, '-', '-', F],
    ],
    ['liveness failureThreshold 2', 'liveness', { failureThreshold: 2 }, [F, F], ['-', F]],
    ['liveness failureThreshold 1', 'liveness', { failureThreshold: 1 }, [S, F], [S, F]],
    ['startup failureThreshold 3', 'startup', { failureThreshold: 3 }, [F, F, S], ['-', '-', S]],
  ] as const)('%s', (_n, type, probe, results, expected) => {
    expect(run(type, probe, [...results])).toEqual(expected);
  });

  it.each([
    ['liveness', true],
    ['startup', true],
    ['readiness', false],
  ] as const)('%s failure at threshold puts the worker on hold: %s', (type, hold) => {
    const c = countResult(FRESH, 'failure', type, { failureThreshold: 1 });
    expect(c.set).toBe('failure');
    expect(c.state.onHold).toBe(hold);
    if (hold) expect(c.state.run).toBe(0);
  });
});

describe('probeGate (which probe runs)', () => {
  it.each([
    // type,        onHold, sinceStartMs, initialDelay, started -> gate
    ['startup', false, 0, 0, false, { action: 'probe' }],
    ['startup', false, 0, 0, true, { action: 'skip' }],
    ['liveness', false, 0, 0, false, { action: 'skip' }],
    ['readiness', false, 0, 0, false, { action: 'skip' }],
    ['liveness', false, 0, 0, true, { action: 'probe' }],
    ['readiness', false, 0, 0, true, { action: 'probe' }],
    ['readiness', false, 1500, 5, true, { action: 'wait', ms: 3500 }],
    ['startup', false, 4999, 5, false, { action: 'wait', ms: 1 }],
    ['liveness', false, 5000, 5, true, { action: 'probe' }],
    ['liveness', true, 9000, 0, true, { action: 'skip' }],
  ] as const)(
    '%s onHold=%s since=%dms delay=%ds started=%s',
    (type, onHold, sinceStartMs, initialDelaySeconds, started, gate) => {
      expect(probeGate(type, { onHold, sinceStartMs, initialDelaySeconds, started })).toEqual(gate);
    },
  );
});

describe('initial results and status flags', () => {
  it('readiness fails until it succeeds, liveness passes until it fails, startup is unknown', () => {
    expect([initialResult('readiness'), initialResult('liveness'), initialResult('startup')]).toEqual([
      'failure',
      'success',
      undefined,
    ]);
  });

  it.each([
    // running, startup probe, readiness probe, results -> started, ready
    [false, false, false, {}, false, false],
    [true, false, false, {}, true, true],
    [true, false, true, {}, true, false],
    [true, false, true, { readiness: 'success' }, true, true],
    [true, true, false, {}, false, false],
    [true, true, false, { startup: 'failure' }, false, false],
    [true, true, true, { startup: 'success', readiness: 'success' }, true, true],
    [true, true, true, { readiness: 'success' }, false, false],
    [false, true, true, { startup: 'success', readiness: 'success' }, false, false],
  ] as const)(
    'running=%s startup=%s readiness=%s %j -> started=%s ready=%s',
    (running, hasStartupProbe, hasReadinessProbe, results, started, ready) => {
      expect(containerProbeStatus({ running, hasStartupProbe, hasReadinessProbe, results: { ...results } })).toEqual({
        started,
        ready,
      });
    },
  );

  it.each([
    [{ liveness: 'failure' }, 'liveness'],
    [{ startup: 'failure' }, 'startup'],
    [{ liveness: 'success', readiness: 'failure' }, undefined],
    [{ liveness: 'failure', startup: 'failure' }, 'liveness'],
    [undefined, undefined],
  ] as const)('failedProbe(%j) = %s', (results, failed) => {
    expect(failedProbe(results ? { ...results } : undefined)).toBe(failed);
  });
});

describe('httpGet requests', () => {
  const container = {
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'metrics', containerPort: 9090 },
    ],
  };
  it.each([
    ['port by number', { port: 8080, path: '/healthz' }, '10.42.0.5', 'http://10.42.0.5:8080/healthz'],
    ['port by name', { port: 'metrics', path: '/metrics' }, '10.42.0.5', 'http://10.42.0.5:9090/metrics'],
    ['numeric string port', { port: '81' }, '10.42.0.5', 'http://10.42.0.5:81/'],
    [
      'path without slash, query kept',
      { port: 80, path: 'ready?full=1' },
      '10.42.0.5',
      'http://10.42.0.5:80/ready?full=1',
    ],
    ['https', { port: 8443, scheme: 'HTTPS', path: '/' }, '10.42.0.5', 'https://10.42.0.5:8443/'],
    ['host override', { port: 80, host: 'example.test', path: '/' }, '10.42.0.5', 'http://example.test:80/'],
    ['IPv6 pod IP', { port: 80, path: '/' }, 'fd00::5', 'http://[fd00::5]:80/'],
  ] as const)('%s', (_n, action, podIP, url) => {
    expect(buildHttpGetRequest({ ...action }, container, podIP).url).toBe(url);
  });

  it('sends kube-probe as User-Agent and */* as Accept unless the user set them; Host header passes through', () => {
    const r = buildHttpGetRequest(
      {
        port: 80,
        httpHeaders: [
          { name: 'Host', value: 'app.example' },
          { name: 'X-Probe', value: 'a' },
          { name: 'x-probe', value: 'b' },
        ],
      },
      container,
      '10.0.0.1',
    );
    expect(r.headers).toEqual({
      Host: 'app.example',
      'X-Probe': ['a', 'b'],
      'User-Agent': 'kube-probe/1.32',
      Accept: '*/*',
    });
    const own = buildHttpGetRequest(
      {
        port: 80,
        httpHeaders: [
          { name: 'user-agent', value: 'me' },
          { name: 'accept', value: 'text/plain' },
        ],
      },
      container,
      '10.0.0.1',
    );
    expect(own.headers).toEqual({ 'user-agent': 'me', accept: 'text/plain' });
  });

  it.each([
    [8080, 8080],
    ['http', 8080],
    ['9000', 9000],
  ] as const)('resolvePort(%j) = %d', (port, n) => expect(resolvePort(port, container)).toBe(n));

  it.each([
    ['nope', 'port nope not found'],
    [0, 'invalid port number: 0'],
    [70000, 'invalid port number: 70000'],
  ] as const)('resolvePort(%j) throws %s', (port, msg) => expect(() => resolvePort(port, container)).toThrow(msg));

  it('needs a pod IP when no host is given', () => {
    expect(() => buildHttpGetRequest({ port: 80 }, container, undefined)).toThrow('pod has no IP yet');
  });
});
